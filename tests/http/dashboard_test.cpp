// The dashboard's routes on a real server over a database the real binary
// trained: the page shell and its files (/ui/), GET /v1/users/{user}/history,
// GET /v1/live, and the training curve and data statistics in GET /v1/model.
#include <catch2/catch.hpp>
#include <simdjson.h>

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

using namespace recsys::test;

namespace {

constexpr int kUsers = 20;
constexpr int kItems = 15;
const std::string kOddItem = "<i>Tom & Jerry</i>";  // markup in an id: shown as text by the pages

int value_of(int u, int i) { return 1 + (u * 7 + i) % 5; }
bool rated(int u, int i) { return (u + i) % 3 != 0; }

// A small explicit data set with distinct timestamps, trained and precomputed
// once by the real binary for all the tests here.
struct Trained {
  TempDir dir;
  std::string db;
  std::string report;
  std::size_t ratings = 0;
  Trained() {
    std::ostringstream tsv;
    for (int u = 0; u < kUsers; ++u) {
      for (int i = 0; i < kItems; ++i)
        if (rated(u, i)) tsv << 'u' << u << "\ti" << i << '\t' << value_of(u, i) << '\t' << 1000000 + u * 100 + i << '\n', ++ratings;
      if (u % 2 == 0) tsv << 'u' << u << '\t' << kOddItem << "\t5\t" << 2000000 + u << '\n', ++ratings;
    }
    auto file = dir.write("r.tsv", tsv.str());
    db = (dir / "db").string();
    report = (dir / "report.html").string();
    auto r = run_recsys({"--db", db, "--threads", "2", "train", file.string(), "--factors", "8", "--iterations", "5",
                         "--k", "5", "--report", report},
                        dir);
    if (r.status != 0) throw std::runtime_error("train failed: " + r.err);
    r = run_recsys({"--db", db, "precompute", "--k", "5"}, dir);
    if (r.status != 0) throw std::runtime_error("precompute failed: " + r.err);
  }
};

const Trained& trained() {
  static Trained t;
  return t;
}

simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& body) {
  simdjson::dom::element doc;
  INFO(body);
  REQUIRE(parser.parse(body).get(doc) == simdjson::SUCCESS);
  return doc;
}

std::uint64_t sum(simdjson::dom::array a) {
  std::uint64_t n = 0;
  for (auto v : a) n += std::uint64_t(v);
  return n;
}

// The top-level member names of an object, in order.
std::vector<std::string> members(simdjson::dom::object o) {
  std::vector<std::string> names;
  for (auto [key, value] : o) names.emplace_back(key);
  return names;
}

bool has(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The object embedded in a report file.
std::string report_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string html = ss.str();
  auto at = html.find("<script type=\"application/json\" id=\"recsys-model\">");
  REQUIRE(at != std::string::npos);
  auto start = html.find('>', at) + 1;
  return html.substr(start, html.find("</script>", start) - start);
}

std::string header(const HttpResponse& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string() : it->second;
}

}  // namespace

TEST_CASE("the dashboard pages answer the page shell with a content security policy") {
  const auto& t = trained();
  Server server(t.dir, t.db);
  Connection c(server.port());
  for (std::string path : {"/ui/", "/ui", "/ui/live", "/ui/users/u1", "/ui/users/%3Ci%3E", "/ui/items/i3"}) {
    INFO(path);
    auto r = c.get(path);
    CHECK(r.status == 200);
    CHECK(header(r, "content-type") == "text/html; charset=utf-8");
    CHECK(header(r, "cache-control") == "no-cache");
    CHECK(header(r, "content-security-policy").find("default-src 'self'") == 0);
    CHECK(header(r, "x-content-type-options") == "nosniff");
    CHECK(r.body.find("<script src=\"/ui/app.js?v=") != std::string::npos);
    CHECK(r.body.find("http") == std::string::npos);  // nothing from elsewhere
  }
}

TEST_CASE("the dashboard's files are served with their types, and versioned URLs cached for good") {
  const auto& t = trained();
  Server server(t.dir, t.db);
  Connection c(server.port());
  auto shell = c.get("/ui/");
  std::smatch m;
  REQUIRE(std::regex_search(shell.body, m, std::regex("app\\.js\\?v=([0-9a-f]+)")));
  const std::string version = m[1];
  struct File { std::string name, type; };
  for (const auto& f : {File{"app.js", "text/javascript; charset=utf-8"}, File{"charts.js", "text/javascript; charset=utf-8"},
                        File{"overview.js", "text/javascript; charset=utf-8"}, File{"style.css", "text/css; charset=utf-8"},
                        File{"favicon.svg", "image/svg+xml"}}) {
    INFO(f.name);
    CHECK(shell.body.find("/ui/" + f.name + "?v=" + version) != std::string::npos);
    auto r = c.get("/ui/" + f.name + "?v=" + version);
    CHECK(r.status == 200);
    CHECK(header(r, "content-type") == f.type);
    CHECK(header(r, "cache-control") == "public, max-age=31536000, immutable");
    CHECK(header(r, "etag").size() == 18);
    CHECK(r.body.size() > 100);
    // Without the current version the file is revalidated each time.
    CHECK(header(c.get("/ui/" + f.name + "?v=old"), "cache-control") == "no-cache");
  }
  auto head = c.request("HEAD", "/ui/style.css");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
}

// The ETag was sent and never honoured: a browser revalidating the shell
// (no-cache) got the whole page every time.
TEST_CASE("a dashboard file whose ETag the browser holds is answered 304 without a body") {
  const auto& t = trained();
  Server server(t.dir, t.db);
  Connection c(server.port());
  for (std::string path : {"/ui/", "/ui/users/u1", "/ui/style.css"}) {
    INFO(path);
    auto full = c.get(path);
    REQUIRE(full.status == 200);
    const std::string etag = header(full, "etag");
    for (std::string held : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
      INFO(held);
      auto r = c.request("GET", path, "", "If-None-Match: " + held + "\r\n");
      CHECK(r.status == 304);
      CHECK(r.body.empty());
      CHECK(header(r, "etag") == etag);
      CHECK(header(r, "content-length").empty());
    }
    auto changed = c.request("GET", path, "", "If-None-Match: \"other\"\r\n");
    CHECK(changed.status == 200);
    CHECK(changed.body == full.body);  // and the connection still frames answers
  }
}

TEST_CASE("unknown dashboard paths are 404 and writes to them 405") {
  const auto& t = trained();
  Server server(t.dir, t.db);
  Connection c(server.port());
  for (std::string path : {"/ui/nope.js", "/ui/users/", "/ui/users/a/b", "/ui/items/", "/ui/index.htm", "/ui/embed.py",
                           "/uix", "/ui/live/x"}) {
    INFO(path);
    auto r = c.get(path);
    CHECK(r.status == 404);
    CHECK(r.body.find("\"code\":\"not_found\"") != std::string::npos);
  }
  auto post = c.request("POST", "/ui/", "x");
  CHECK(post.status == 405);
  CHECK(header(post, "allow") == "GET, HEAD");
}

TEST_CASE("GET /v1/users/{user}/history lists the user's stored ratings, latest first") {
  const auto& t = trained();
  Server server(t.dir, t.db);
  Connection c(server.port());
  // u2's ratings from the file, latest first: the odd item, then i14 … i0.
  std::string expected = "{\"user\":\"u2\",\"count\":";
  std::string entries = fmt::format("{{\"item\":\"{}\",\"value\":5,\"timestamp\":{}}}", "<i>Tom & Jerry</i>", 2000002);
  int count = 1;
  for (int i = kItems - 1; i >= 0; --i) {
    if (!rated(2, i)) continue;
    entries += fmt::format(",{{\"item\":\"i{}\",\"value\":{},\"timestamp\":{}}}", i, value_of(2, i), 1000200 + i);
    ++count;
  }
  expected += std::to_string(count) + ",\"ratings\":[" + entries + "]}";
  CHECK(c.get("/v1/users/u2/history").body == expected);

  simdjson::dom::parser parser;
  auto limited = parse(parser, c.get("/v1/users/u2/history?limit=2").body);
  CHECK(std::uint64_t(limited["count"]) == std::uint64_t(count));
  CHECK(simdjson::dom::array(limited["ratings"]).size() == 2);

  // Unknown users are not errors: they have no history.
  CHECK(c.get("/v1/users/nobody/history").body == "{\"user\":\"nobody\",\"count\":0,\"ratings\":[]}");
  for (std::string bad : {"limit=0", "limit=x", "limit=10001", "limit=-1"}) {
    INFO(bad);
    auto r = c.get("/v1/users/u2/history?" + bad);
    CHECK(r.status == 400);
    CHECK(r.body.find("limit must be an integer from 1 to 10000") != std::string::npos);
  }
  // A value is percent-decoded as everywhere; a parameter other than limit is refused, not ignored.
  CHECK(simdjson::dom::array(parse(parser, c.get("/v1/users/u2/history?limit=%32").body)["ratings"]).size() == 2);
  for (std::string bad : {"lmit=2", "limit=2&k=3", "k=3"}) {
    INFO(bad);
    auto r = c.get("/v1/users/u2/history?" + bad);
    CHECK(r.status == 400);
    CHECK(r.body.find("unknown parameter '") != std::string::npos);
    CHECK(r.body.find("the only parameter is limit") != std::string::npos);
  }
  CHECK(c.get("/v1/users/u2/history?limit=%3").status == 400);
  CHECK(c.get("/v1/users/%ZZ/history").status == 400);
  CHECK(c.request("DELETE", "/v1/users/u2/history").status == 405);
  CHECK(c.get("/v1/items/i1/history").status == 404);
}

TEST_CASE("GET /v1/live counts requests, latencies and stored events") {
  TempDir dir;  // its own database: this test posts events
  const auto& t = trained();
  std::filesystem::copy(t.db, dir / "db", std::filesystem::copy_options::recursive);
  Server server(dir, (dir / "db").string());
  Connection c(server.port());
  simdjson::dom::parser parser;
  auto before = parse(parser, c.get("/v1/live").body);
  CHECK(std::int64_t(before["generation"]) == 1);
  CHECK(std::uint64_t(before["events"]) == 0);
  CHECK(std::uint64_t(before["connections"]) == 1);
  CHECK(std::uint64_t(before["requests"]) == 0);  // counted once answered
  const double uptime_before = before["uptime_seconds"];  // `before` lives until the parser's next document

  auto posted = c.request("POST", "/v1/events",
                          "[{\"user\":\"u2\",\"item\":\"i1\",\"value\":4,\"timestamp\":3000000},"
                          "{\"user\":\"new\",\"item\":\"i3\",\"value\":2,\"timestamp\":3000001}]");
  REQUIRE(posted.status == 200);
  CHECK(c.get("/v1/users/u2/history?limit=1").body.find("{\"item\":\"i1\",\"value\":4,\"timestamp\":3000000}") !=
        std::string::npos);
  CHECK(c.get("/v1/users/new/history").body ==
        "{\"user\":\"new\",\"count\":1,\"ratings\":[{\"item\":\"i3\",\"value\":2,\"timestamp\":3000001}]}");
  c.get("/ui/");

  auto after = parse(parser, c.get("/v1/live").body);
  CHECK(std::uint64_t(after["events"]) == 2);
  CHECK(std::uint64_t(after["requests"]) == 5);  // live, events, two histories, the page
  CHECK(std::uint64_t(after["routes"]["history"]) == 2);
  CHECK(std::uint64_t(after["routes"]["events"]) == 1);
  CHECK(std::uint64_t(after["routes"]["ui"]) == 1);
  CHECK(std::uint64_t(after["routes"]["live"]) == 1);
  // Every answered request lands in one latency bucket.
  CHECK(sum(after["latency"]["counts"]) == 5);
  CHECK(simdjson::dom::array(after["latency"]["counts"]).size() == simdjson::dom::array(after["latency"]["bounds"]).size() + 1);
  CHECK(double(after["latency"]["p50"]) <= double(after["latency"]["p99"]));
  CHECK(double(after["uptime_seconds"]) > uptime_before);
  CHECK(c.request("POST", "/v1/live", "{}").status == 405);
}

TEST_CASE("GET /v1/model carries the training curve and the statistics of the data") {
  const auto& t = trained();
  Server server(t.dir, t.db);
  Connection c(server.port());
  simdjson::dom::parser parser;
  auto m = parse(parser, c.get("/v1/model").body);
  auto curve = m["curve"];
  CHECK(std::string_view(curve["phase"]) == "fit on train split");
  CHECK(std::uint64_t(curve["k"]) == 5);
  CHECK(std::uint64_t(curve["users"]) == std::uint64_t(m["metrics"]["users"]));
  const std::uint64_t every = curve["every"];
  std::vector<std::uint64_t> iterations;
  for (auto v : simdjson::dom::array(curve["iterations"])) iterations.push_back(std::uint64_t(v));
  CHECK(iterations == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
  std::size_t i = 0;
  double last_ndcg = -1;
  for (auto v : simdjson::dom::array(curve["ndcg"])) {
    const bool measured = i == 0 || i == 4 || i % every == 0;
    INFO("iteration " << i + 1);
    CHECK(v.is_null() == !measured);
    if (measured) last_ndcg = double(v);
    ++i;
  }
  // The last point is the evaluation itself: the same factors, test users and k.
  CHECK(last_ndcg == double(m["metrics"]["ndcg_at_k"]));
  for (auto v : simdjson::dom::array(curve["loss"])) CHECK(double(v) > 0);

  auto data = m["data"];
  CHECK(std::uint64_t(data["ratings"]) == t.ratings);
  CHECK(std::uint64_t(data["users"]) == kUsers);
  CHECK(std::uint64_t(data["items"]) == kItems + 1);
  CHECK(sum(data["ratings_per_user"]["counts"]) == kUsers);
  CHECK(sum(data["ratings_per_item"]["counts"]) == kItems + 1);
  CHECK(sum(data["rating_values"]["counts"]) == t.ratings);
  CHECK(simdjson::dom::array(data["rating_values"]["counts"]).size() == 5);  // 1 … 5 stars
}

TEST_CASE("GET /v1/model and the report show an EASE generation by EASE's parameters, ALS by all of its own") {
  // The ALS generation: every stored member, ALS clients read them.
  const auto& t = trained();
  {
    Server server(t.dir, t.db);
    Connection c(server.port());
    simdjson::dom::parser parser;
    auto names = members(parse(parser, c.get("/v1/model").body));
    for (const char* name : {"model", "feedback", "confidence", "solver", "factors", "iterations", "regularization",
                             "alpha", "cg_steps", "epsilon", "nonnegative", "weighted_lambda", "user_norm", "loss"}) {
      INFO(name);
      CHECK(has(names, name));
    }
  }
  // EASE on the same explicit ratings, log input: λ, the input weighting with α and ε,
  // the items; none of ALS's parameters, and "feedback" never claims "implicit".
  TempDir dir;
  const std::string db = (dir / "db").string(), report = (dir / "report.html").string();
  auto r = run_recsys({"--db", db, "train", (t.dir / "r.tsv").string(), "--model", "ease", "--regularization", "20",
                       "--confidence", "log", "--k", "5", "--report", report},
                      dir);
  REQUIRE(r.status == 0);
  REQUIRE(run_recsys({"--db", db, "precompute", "--k", "5"}, dir).status == 0);
  Server server(dir, db);
  Connection c(server.port());
  const std::string body = c.get("/v1/model").body;
  for (const std::string& json : {body, report_json(report)}) {
    INFO(json);
    simdjson::dom::parser parser;
    auto m = parse(parser, json);
    auto names = members(m);
    CHECK(std::string_view(m["model"]) == "ease");
    CHECK(double(m["regularization"]) == 20);
    CHECK(std::string_view(m["confidence"]) == "log");
    CHECK(double(m["alpha"]) == 10);  // the log default
    CHECK(double(m["epsilon"]) == 3);  // the median stored rating
    CHECK(std::uint64_t(m["items"]) == kItems + 1);
    CHECK(double(m["metrics"]["ndcg_at_k"]) > 0);
    for (const char* name : {"feedback", "solver", "factors", "iterations", "cg_steps", "nonnegative", "weighted_lambda",
                             "user_norm", "mean_user_ratings", "loss"}) {
      INFO(name);
      CHECK_FALSE(has(names, name));
    }
  }
  CHECK(body.rfind("{\"generation\":1,\"serving\":true,\"model\":\"ease\",", 0) == 0);
  // Binary input (EASE's default): α plays no part, so it is not shown either.
  TempDir binary_dir;
  const std::string binary_report = (binary_dir / "report.html").string();
  r = run_recsys({"--db", (binary_dir / "db").string(), "train", (t.dir / "r.tsv").string(), "--model", "ease",
                  "--split", "none", "--report", binary_report},
                 binary_dir);
  REQUIRE(r.status == 0);
  simdjson::dom::parser parser;
  auto m = parse(parser, report_json(binary_report));
  CHECK(std::string_view(m["confidence"]) == "binary");
  CHECK_FALSE(has(members(m), "alpha"));
  CHECK_FALSE(has(members(m), "epsilon"));
  CHECK(double(m["regularization"]) == 300);
}

TEST_CASE("train --report writes the overview as one self-contained HTML file") {
  const auto& t = trained();
  std::ifstream in(t.report);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string html = ss.str();
  REQUIRE(html.rfind("<!doctype html>", 0) == 0);
  CHECK(html.find("RecsysOverview.render(") != std::string::npos);
  // The model as /v1/model answers it, with the metrics and the curve.
  auto at = html.find("<script type=\"application/json\" id=\"recsys-model\">");
  REQUIRE(at != std::string::npos);
  auto start = html.find('>', at) + 1;
  std::string json = html.substr(start, html.find("</script>", start) - start);
  simdjson::dom::parser parser;
  auto m = parse(parser, json);
  CHECK(std::uint64_t(m["generation"]) == 1);
  CHECK(double(m["metrics"]["ndcg_at_k"]) > 0);
  CHECK(simdjson::dom::array(m["curve"]["ndcg"]).size() == 5);
  CHECK(std::uint64_t(m["data"]["ratings"]) == t.ratings);
  // Nothing loaded from elsewhere: no linked files, no imports, no remote URLs.
  for (const char* pattern : {"src=", "href=", "<link", "@import", "url(", "https:", "//cdn", "fetch("}) {
    INFO(pattern);
    CHECK(html.find(pattern) == std::string::npos);
  }

  // A report path that cannot be written stops train before anything is stored.
  TempDir dir;
  auto r = run_recsys({"--db", (dir / "db").string(), "train", "--report", (dir / "missing" / "r.html").string()}, dir);
  CHECK(r.status == 1);
  CHECK(r.err.find("cannot write the report to") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "db"));
}
