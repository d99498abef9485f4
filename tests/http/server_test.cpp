// The real recsys binary serving a small precomputed database on loopback.
#include <catch2/catch.hpp>

#include <atomic>
#include <cctype>
#include <string>
#include <thread>
#include <vector>

#include "../rank/list_json.hpp"
#include "../rank/small_db.hpp"
#include "client.hpp"
#include "served_db.hpp"

using namespace recsys;
using test::Connection;

namespace {

struct Fixture : test::ServedDb {
  explicit Fixture(bool precompute = true) : ServedDb(30, 40, 11, 5, precompute) {}
};

std::vector<std::string> names(const test::SmallDb& s, const std::vector<std::uint32_t>& items) {
  std::vector<std::string> out;
  for (auto i : items) out.push_back(s.items[i]);
  return out;
}

// exclude=… for these ids, each byte outside [0-9A-Za-z] percent-encoded.
std::string exclude_param(const std::vector<std::string>& ids) {
  std::string out = "exclude=";
  for (std::size_t n = 0; n < ids.size(); ++n) {
    if (n > 0) out += ',';
    for (unsigned char ch : ids[n]) {
      if (std::isalnum(ch)) {
        out += static_cast<char>(ch);
      } else {
        out += '%';
        out += "0123456789ABCDEF"[ch >> 4];
        out += "0123456789ABCDEF"[ch & 15];
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("GET recommendations and similar items answer from the cache, with encoded ids") {
  Fixture f;
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  auto r = c.get("/v1/users/u0/recommendations?k=3");
  REQUIRE(r.status == 200);
  REQUIRE(r.headers["content-type"] == "application/json");
  auto body = test::parse_body(r.body);
  REQUIRE(body.source == "model");
  REQUIRE(body.model == 1);
  REQUIRE(test::item_names(body) == names(f.s, test::brute_force_user(f.s, 0, 3)));
  // "user/one two" travels as user%2Fone%20two
  body = test::parse_body(c.get("/v1/users/user%2Fone%20two/recommendations").body);
  REQUIRE(body.id == "user/one two");
  REQUIRE(test::item_names(body) == names(f.s, test::brute_force_user(f.s, 1, 5)));
  // k beyond the precomputed k gives the whole list; exclude drops before cutting.
  REQUIRE(test::parse_body(c.get("/v1/users/u0/recommendations?k=500").body).items.size() == 5);
  auto top = test::brute_force_user(f.s, 0, 5);
  std::string excl = "/v1/users/u0/recommendations?k=3&exclude=" + f.s.items[top[0]] + ",nothing," + f.s.items[top[2]];
  REQUIRE(test::item_names(test::parse_body(c.get(excl).body)) == names(f.s, {top[1], top[3], top[4]}));
  // Unknown users, also with UTF-8 ids, get the fallback.
  body = test::parse_body(c.get("/v1/users/%C3%A9t%C3%A9/recommendations").body);
  REQUIRE(body.id == "\xC3\xA9t\xC3\xA9");
  REQUIRE(body.source == "fallback");
  REQUIRE(body.items.size() == 5);
  // Similar items: "a/b c" as a%2Fb+c is not decoded as a space in paths, so use %20.
  auto sim = c.get("/v1/items/a%2Fb%20c/similar?k=2");
  REQUIRE(sim.status == 200);
  auto sb = test::parse_body(sim.body, "item");
  REQUIRE(sb.id == "a/b c");
  REQUIRE(sb.items.size() == 2);
  REQUIRE(c.get("/v1/items/%C3%BC%22q/similar").status == 200);
  auto unknown = c.get("/v1/items/no-such-item/similar");
  REQUIRE(unknown.status == 404);
  REQUIRE_THAT(unknown.body, Catch::Contains("\"code\":\"not_found\""));
}

TEST_CASE("the same body is served over HTTP and printed by recsys recommend --json") {
  Fixture f;
  auto cli = test::run_recsys({"--db", f.db, "recommend", "u7", "--k", "4", "--json"}, f.dir);
  REQUIRE(cli.status == 0);
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  REQUIRE(c.get("/v1/users/u7/recommendations?k=4").body + "\n" == cli.out);
}

TEST_CASE("model, health, readiness and metrics routes") {
  Fixture f;
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  auto model = c.get("/v1/model");
  REQUIRE(model.status == 200);
  REQUIRE_THAT(model.body, Catch::StartsWith("{\"generation\":1,") && Catch::Contains("\"trained_at\""));
  REQUIRE(c.get("/healthz").status == 200);
  auto ready = c.get("/readyz");
  REQUIRE(ready.status == 200);
  REQUIRE(ready.body == "{\"status\":\"ready\",\"model\":1,\"events\":\"accepting\"}");
  c.get("/v1/users/u0/recommendations");
  c.get("/nope");
  auto metrics = c.get("/metrics");
  REQUIRE(metrics.status == 200);
  REQUIRE_THAT(metrics.headers["content-type"], Catch::StartsWith("text/plain"));
  REQUIRE_THAT(metrics.body, Catch::Contains("recsys_http_requests_total{route=\"recommendations\",status=\"200\"} 1"));
  REQUIRE_THAT(metrics.body, Catch::Contains("recsys_http_requests_total{route=\"other\",status=\"404\"} 1"));
  REQUIRE_THAT(metrics.body, Catch::Contains("recsys_model_generation 1"));
  REQUIRE_THAT(metrics.body, Catch::Contains("recsys_cache_lists{kind=\"user\"} 29"));
  REQUIRE_THAT(metrics.body, Catch::Contains("recsys_http_request_duration_seconds_count"));
  auto head = c.request("HEAD", "/healthz");
  REQUIRE(head.status == 200);
}

TEST_CASE("without a precomputed cache the server is up but not ready") {
  Fixture f(false);
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  REQUIRE(c.get("/healthz").status == 200);
  REQUIRE(c.get("/readyz").status == 503);
  auto r = c.get("/v1/users/u0/recommendations");
  REQUIRE(r.status == 503);
  REQUIRE_THAT(r.body, Catch::Contains("recsys precompute"));
  REQUIRE(c.get("/v1/model").status == 503);
}

TEST_CASE("bad requests get JSON errors with the right status") {
  Fixture f;
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  REQUIRE(c.get("/v1/users/%zz/recommendations").status == 400);
  REQUIRE(c.get("/v1/users/%4/recommendations").status == 400);
  REQUIRE(c.get("/v1/users/u1/recommendations?k=0").status == 400);
  REQUIRE(c.get("/v1/users/u1/recommendations?k=-3").status == 400);
  REQUIRE(c.get("/v1/users/u1/recommendations?k=%3").status == 400);
  REQUIRE(c.get("/v1/users/u1/recommendations?k=%30").status == 400);  // "0"
  // A percent-encoded k is a k, as every other value is decoded.
  REQUIRE(c.get("/v1/users/u1/recommendations?k=%32").body == c.get("/v1/users/u1/recommendations?k=2").body);
  REQUIRE(c.get("/v1/users/u1/recommendations?exclude=%g1").status == 400);
  REQUIRE(c.get("/v1/users//recommendations").status == 404);
  REQUIRE(c.get("/v1/users/u1").status == 404);
  REQUIRE(c.get("/").status == 404);
  auto wrong = c.request("DELETE", "/v1/users/u1/recommendations");
  REQUIRE(wrong.status == 405);
  REQUIRE(wrong.headers["allow"] == "GET, HEAD");
  REQUIRE(c.request("GET", "/v1/events").status == 405);
  REQUIRE(c.request("POST", "/healthz").status == 405);
  // All of the above kept the connection open.
  REQUIRE(c.get("/healthz").status == 200);

  Connection line(server.port());
  line.send("GARBAGE\r\n\r\n");
  auto r = line.read_response();
  REQUIRE(r.status == 400);
  REQUIRE_THAT(r.body, Catch::Contains("\"error\""));
  REQUIRE(line.closed_by_peer());

  Connection header(server.port());
  header.try_send("GET /healthz HTTP/1.1\r\nX-Big: " + std::string(40000, 'a') + "\r\n\r\n");
  REQUIRE(header.read_response().status == 431);

  Connection url(server.port());
  url.send("GET /v1/users/" + std::string(5000, 'u') + "/recommendations HTTP/1.1\r\n\r\n");
  REQUIRE(url.read_response().status == 414);

  Connection body(server.port());
  body.try_send("POST /v1/events HTTP/1.1\r\nContent-Length: 5000000\r\n\r\n");
  REQUIRE(body.read_response().status == 413);

  Connection version(server.port());
  version.send("GET /healthz FTP/1.1\r\n\r\n");
  REQUIRE(version.read_response().status == 400);
  REQUIRE(Connection(server.port()).get("/healthz").status == 200);  // still serving
}

// A body over the limit is refused (413) and the connection closed while the
// client still sends it. The server closed with the rest unread, so the kernel
// sent a reset, and a client that had not read the 413 yet lost it (curl:
// "Send failure: Broken pipe", 2 in 40). Now it reads and drops the rest for
// a moment before it closes.
TEST_CASE("a client still sending a refused body reads the 413 before the connection closes") {
  Fixture f;
  test::Server server(f.dir, f.db);
  const std::string body(3 << 20, ' ');  // over the default 1 MiB limit
  for (const char* framing : {"Content-Length: 3145728\r\n", "Transfer-Encoding: chunked\r\n"}) {
    for (int round = 0; round < 3; ++round) {
      INFO(framing << " round " << round);
      Connection c(server.port());
      std::string request = std::string("POST /v1/events HTTP/1.1\r\nHost: localhost\r\n") + framing + "\r\n";
      if (framing[0] == 'T') {
        request += "300000\r\n" + body + "\r\n0\r\n\r\n";
      } else {
        request += body;
      }
      REQUIRE(c.try_send(request));  // all of it: the server drops what it does not read
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // its answer and close are in by now
      auto r = c.read_response();
      REQUIRE(r.status == 413);
      REQUIRE(r.headers["connection"] == "close");
      REQUIRE(c.closed_by_peer());
      // Still read and dropped, not reset: a socket closed with input
      // unread answers more with a reset, and the send fails.
      REQUIRE(c.try_send(std::string(256 << 10, ' ')));
    }
  }
  REQUIRE(Connection(server.port()).get("/healthz").status == 200);
}

TEST_CASE("keep-alive serves many requests per connection and pipelined requests in order") {
  Fixture f;
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  for (int i = 0; i < 300; ++i) {
    auto r = c.get("/v1/users/u" + std::to_string(i % 30) + "/recommendations?k=2");
    REQUIRE(r.status == 200);
  }
  std::string batch;
  for (int i = 0; i < 60; ++i) batch += "GET /v1/users/u" + std::to_string(i % 30) + "/recommendations HTTP/1.1\r\n\r\n";
  batch += "GET /nope HTTP/1.1\r\n\r\n";
  c.send(batch);
  for (int i = 0; i < 60; ++i) {
    auto r = c.read_response();
    REQUIRE(r.status == 200);
    REQUIRE(test::parse_body(r.body).id == test::numbered("u", i % 30));
  }
  REQUIRE(c.read_response().status == 404);
  auto close = c.request("GET", "/healthz", "", "Connection: close\r\n");
  REQUIRE(close.headers["connection"] == "close");
  REQUIRE(c.closed_by_peer());
}

TEST_CASE("concurrent clients all get their answers") {
  Fixture f;
  test::Server server(f.dir, f.db);
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      Connection c(server.port());
      for (int i = 0; i < 100; ++i) {
        std::string user = test::numbered("u", (t * 7 + i) % 30);
        auto r = c.get("/v1/users/" + user + "/recommendations");
        if (r.status == 200 && test::parse_body(r.body).id == user) ++ok;
      }
    });
  }
  for (auto& t : clients) t.join();
  REQUIRE(ok == 800);
}

TEST_CASE("exclude= removes items before cutting to k and refills from the stored candidates") {
  Fixture f;  // k = 5, candidates 100 deep
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  auto ranking = test::brute_force_user(f.s, 0, 12);
  // Every listed item excluded: the next three of the ranking.
  auto listed = names(f.s, std::vector<std::uint32_t>(ranking.begin(), ranking.begin() + 5));
  auto body = test::parse_body(c.get("/v1/users/u0/recommendations?k=3&" + exclude_param(listed)).body);
  REQUIRE(body.source == "model");
  REQUIRE(test::item_names(body) == names(f.s, {ranking[5], ranking[6], ranking[7]}));
  // The top item excluded with k = 10: as many as a plain answer gives (the
  // precomputed 5), the ranking without it.
  body = test::parse_body(c.get("/v1/users/u0/recommendations?k=10&" + exclude_param({listed[0]})).body);
  REQUIRE(test::item_names(body) == names(f.s, std::vector<std::uint32_t>(ranking.begin() + 1, ranking.begin() + 6)));
  // Without exclude, the stored list as it is.
  REQUIRE(test::parse_body(c.get("/v1/users/u0/recommendations?k=10").body).items.size() == 5);

  // The shared fallback refills from the fallback ranking, similar items from their candidates.
  for (std::string target : {"/v1/users/nobody/recommendations", "/v1/items/i4/similar"}) {
    INFO(target);
    const char* key = target.find("/users/") != std::string::npos ? "user" : "item";
    auto shown = test::item_names(test::parse_body(c.get(target).body, key));
    REQUIRE(shown.size() == 5);
    auto deeper = test::parse_body(c.get(target + "?k=4&" + exclude_param(shown)).body, key);
    REQUIRE(deeper.items.size() == 4);
    for (const auto& item : test::item_names(deeper)) {
      REQUIRE(item != "i4");
      REQUIRE(std::find(shown.begin(), shown.end(), item) == shown.end());
    }
  }
}
