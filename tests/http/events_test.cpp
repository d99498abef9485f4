// POST /v1/events: stored, folded in, and visible in the next GET.
#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "../rank/list_json.hpp"
#include "../rank/small_db.hpp"
#include "client.hpp"
#include "served_db.hpp"
#include "store/ids.hpp"
#include "store/ratings.hpp"

using namespace recsys;
using test::Connection;

namespace {

struct Fixture : test::ServedDb {
  Fixture() : ServedDb(20, 30, 21, 5) {}
};

}  // namespace

TEST_CASE("an event changes the user's next recommendations and is stored") {
  Fixture f;
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  auto before = test::parse_body(c.get("/v1/users/u3/recommendations").body);
  std::string first = before.items.at(0).first;
  auto post = c.request("POST", "/v1/events", R"({"user":"u3","item":")" + first + R"(","value":5})");
  REQUIRE(post.status == 200);
  REQUIRE(post.body == "{\"accepted\":1}");
  auto after = test::parse_body(c.get("/v1/users/u3/recommendations").body);
  REQUIRE(after.source == "model");
  auto names = test::item_names(after);
  REQUIRE(std::find(names.begin(), names.end(), first) == names.end());  // now seen
  REQUIRE(after.items.size() == 5);

  // A new user with a new item and a known one: a personal list right away.
  post = c.request("POST", "/v1/events",
                   R"([{"user":"new user/1","item":"i4","value":3},{"user":"new user/1","item":"fresh-item"}])");
  REQUIRE(post.status == 200);
  auto fresh = test::parse_body(c.get("/v1/users/new%20user%2F1/recommendations").body);
  REQUIRE(fresh.source == "model");
  names = test::item_names(fresh);
  REQUIRE(std::find(names.begin(), names.end(), "i4") == names.end());
  server.stop();

  auto db = test::open_db(f.dir / "db", store::OpenMode::ReadOnly);
  auto txn = db.begin_read();
  auto user = store::find_index(db, txn, store::IdKind::User, "new user/1");
  REQUIRE(user);
  REQUIRE(store::get_user_ratings(db, txn, *user).size() == 2);
  REQUIRE(store::find_index(db, txn, store::IdKind::Item, "fresh-item"));
}

TEST_CASE("invalid event bodies are refused and store nothing") {
  Fixture f;
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  auto r = c.request("POST", "/v1/events", R"({"user":"zz"})");
  REQUIRE(r.status == 422);
  REQUIRE_THAT(r.body, Catch::Contains("\"code\":\"invalid_event\""));
  REQUIRE(c.request("POST", "/v1/events", "not json").status == 400);
  REQUIRE(c.request("POST", "/v1/events", R"([{"user":"zz","item":"i1"},{"user":"zz"}])").status == 422);
  REQUIRE(test::parse_body(c.get("/v1/users/zz/recommendations").body).source == "fallback");
}

TEST_CASE("with a token file, events need the bearer token") {
  Fixture f;
  auto token = f.dir.write("token", "s3cret-token\n");
  test::Server server(f.dir, f.db, {"--token-file", token.string()});
  Connection c(server.port());
  std::string event = R"({"user":"u1","item":"i2"})";
  auto r = c.request("POST", "/v1/events", event);
  REQUIRE(r.status == 401);
  REQUIRE(r.headers["www-authenticate"] == "Bearer");
  REQUIRE(c.request("POST", "/v1/events", event, "Authorization: Bearer wrong-token\r\n").status == 401);
  REQUIRE(c.request("POST", "/v1/events", event, "Authorization: Bearer s3cret-token\r\n").status == 200);
  // RFC 9110 11.4: one space or more after the scheme, which is case-insensitive.
  REQUIRE(c.request("POST", "/v1/events", event, "Authorization: Bearer   s3cret-token\r\n").status == 200);
  REQUIRE(c.request("POST", "/v1/events", event, "Authorization: BEARER s3cret-token\r\n").status == 200);
  REQUIRE(c.request("POST", "/v1/events", event, "Authorization: Bearer   \r\n").status == 401);
  REQUIRE(c.request("POST", "/v1/events", event, "Authorization: Bearers3cret-token\r\n").status == 401);
  REQUIRE(c.get("/v1/users/u1/recommendations").status == 200);  // reads stay open
}

TEST_CASE("events pipelined with reads are answered in order") {
  Fixture f;
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  std::string body = R"({"user":"p1","item":"i3"})";
  std::string batch = "GET /v1/users/p1/recommendations HTTP/1.1\r\n\r\n"
                      "POST /v1/events HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body +
                      "GET /v1/users/p1/recommendations HTTP/1.1\r\n\r\n";
  c.send(batch);
  REQUIRE(test::parse_body(c.read_response().body).source == "fallback");
  REQUIRE(c.read_response().body == "{\"accepted\":1}");
  REQUIRE(test::parse_body(c.read_response().body).source == "model");
}

TEST_CASE("events follow the k of a precompute that re-ran the served generation") {
  Fixture f;  // precomputed with k = 5
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  REQUIRE(c.request("POST", "/v1/events", R"({"user":"u3","item":"i1"})").status == 200);
  REQUIRE(test::parse_body(c.get("/v1/users/u3/recommendations?k=50").body).items.size() == 5);
  auto pre = test::run_recsys({"--db", f.db, "precompute", "--k", "12"}, f.dir);
  REQUIRE(pre.status == 0);
  REQUIRE(test::parse_body(c.get("/v1/users/u3/recommendations?k=50").body).items.size() == 12);
  REQUIRE(c.request("POST", "/v1/events", R"({"user":"u3","item":"i2"})").status == 200);
  auto after = test::parse_body(c.get("/v1/users/u3/recommendations?k=50").body);
  REQUIRE(after.model == 1);
  REQUIRE(after.items.size() == 12);
}

TEST_CASE("a commit the disk refuses answers 503, and every acknowledged event is stored") {
  Fixture f;
  // The disk refuses to grow the file past 128 KiB more (as when it is full): a
  // file-size limit. recsys ignores SIGXFSZ itself, so writes fail with EFBIG
  // (before it did, the limit killed the server mid-events). Each
  // event copies a few pages of every table it touches (ratings, ids, factors,
  // the list, the filter candidates), so the first events take ~10 pages each.
  auto size = std::filesystem::file_size(f.dir / "db" / "data.mdb") + 128 * 1024;
  std::string script = "exec prlimit --fsize=" + std::to_string(size) + " \"$0\" \"$@\"";
  test::Process server({"sh", "-c", script, test::recsys_bin(), "--db", f.db, "serve", "--port", "0", "--threads", "1"},
                       f.dir.path());
  int port = test::wait_for_port(server);
  Connection c(port);
  std::vector<std::string> acknowledged;
  int refused = 0;
  for (int i = 0; i < 400 && refused == 0; ++i) {
    std::string user = "fill-" + std::to_string(i);
    auto r = c.request("POST", "/v1/events", R"({"user":")" + user + R"(","item":"i1","value":2})");
    if (r.status == 200) {
      acknowledged.push_back(user);
    } else {
      REQUIRE(r.status == 503);
      REQUIRE_THAT(r.body, Catch::Contains("\"code\":\"unavailable\"") && Catch::Contains("nothing of them was stored"));
      ++refused;
    }
  }
  REQUIRE(refused == 1);
  REQUIRE(acknowledged.size() > 5);
  // Reads go on, and the failure is visible; the next events are tried again
  // (tests/crash/fault_test.cpp: they resume once the disk takes writes).
  REQUIRE(c.get("/v1/users/u1/recommendations").status == 200);
  REQUIRE_THAT(c.get("/readyz").body, Catch::Contains("\"events\":\"failing\""));
  auto stopped = server.signal_and_wait(SIGTERM);
  REQUIRE_THAT(stopped.err, Catch::Contains("committing 1 request(s) failed") && Catch::Contains("file-size limit"));

  auto db = test::open_db(f.dir / "db", store::OpenMode::ReadOnly);
  auto txn = db.begin_read();
  for (const auto& user : acknowledged) {
    auto index = store::find_index(db, txn, store::IdKind::User, user);
    REQUIRE(index);
    REQUIRE(store::get_user_ratings(db, txn, *index).size() == 1);
  }
}

TEST_CASE("connections that close right after posting events leave the server sound") {
  // Each session is released on its worker thread, never on the events writer
  // (the ThreadSanitizer build checks that no thread races on the worker's state).
  Fixture f;
  test::Server server(f.dir, f.db);
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 6; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        Connection c(server.port());
        std::string body = R"({"user":"gone-)" + std::to_string(t) + R"(","item":"i)" + std::to_string(i % 30) + R"("})";
        c.send("POST /v1/events HTTP/1.1\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\n\r\n" + body);
        if (i % 2 == 0) answered += c.read_response().status == 200;  // else: gone before the answer
      }
    });
  }
  for (auto& t : clients) t.join();
  REQUIRE(answered == 6 * 20);
  Connection c(server.port());
  REQUIRE(c.get("/v1/users/gone-1/recommendations").status == 200);
  auto stopped = server.stop();
  REQUIRE(stopped.status == 0);
}
