// Server life cycle: a new generation switched in under load, and shutdown.
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../rank/list_json.hpp"
#include "../rank/small_db.hpp"
#include "client.hpp"
#include "served_db.hpp"
#include "store/ids.hpp"

using namespace recsys;
using test::Connection;

namespace {

struct Fixture : test::ServedDb {
  Fixture() : ServedDb(200, 80, 31, 10) {}
};

}  // namespace

TEST_CASE("a precompute of a new generation under load switches without a failed request") {
  Fixture f;
  test::Server server(f.dir, f.db);
  std::atomic<bool> done{false};
  std::atomic<int> failures{0}, requests{0}, saw_new{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      Connection c(server.port());
      for (int i = 0; !done; ++i) {
        try {
          std::string user = test::numbered("u", (t * 31 + i) % 200);
          auto r = c.get(i % 5 == 0 ? "/v1/items/i3/similar" : "/v1/users/" + user + "/recommendations");
          auto body = test::parse_body(r.body, i % 5 == 0 ? "item" : "user");
          if (r.status != 200 || body.items.empty()) ++failures;
          if (body.model == 2) ++saw_new;
          ++requests;
        } catch (const std::exception&) {
          ++failures;
          return;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  {
    auto handle = test::open_db(f.dir / "db");
    test::add_generation(handle, f.s, 1234);
  }
  auto pre = test::run_recsys({"--db", f.db, "precompute", "--k", "10"}, f.dir);
  REQUIRE(pre.status == 0);
  for (int i = 0; i < 200 && saw_new < 50; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  done = true;
  for (auto& t : clients) t.join();
  REQUIRE(failures == 0);
  REQUIRE(requests > 100);
  REQUIRE(saw_new >= 50);
  // Fold-in follows the switch: an event's list is computed with generation 2.
  Connection c(server.port());
  REQUIRE(c.request("POST", "/v1/events", R"({"user":"u5","item":"i9"})").status == 200);
  REQUIRE(test::parse_body(c.get("/v1/users/u5/recommendations").body).model == 2);
  REQUIRE(c.get("/readyz").body == "{\"status\":\"ready\",\"model\":2,\"events\":\"accepting\"}");
}

TEST_CASE("SIGTERM closes idle connections, finishes answered requests and exits cleanly") {
  Fixture f;
  test::Server server(f.dir, f.db);
  std::vector<std::unique_ptr<Connection>> idle;
  for (int i = 0; i < 5; ++i) {
    idle.push_back(std::make_unique<Connection>(server.port()));
    REQUIRE(idle.back()->get("/healthz").status == 200);
  }
  Connection busy(server.port());
  std::string batch;
  for (int i = 0; i < 200; ++i) batch += "GET /v1/users/u" + std::to_string(i % 200) + "/recommendations HTTP/1.1\r\n\r\n";
  busy.send(batch);
  REQUIRE(busy.read_response().status == 200);  // the batch is in flight
  auto result = server.stop();
  REQUIRE(result.status == 0);
  REQUIRE_THAT(result.err, Catch::Contains("SIGTERM") && Catch::Contains("stopped"));
  for (auto& c : idle) REQUIRE(c->closed_by_peer());
  // Every response that arrived is whole; then the connection ends.
  int whole = 1;
  try {
    while (true) {
      auto r = busy.read_response();
      REQUIRE(r.status == 200);
      test::parse_body(r.body);
      ++whole;
    }
  } catch (const std::runtime_error& e) {
    REQUIRE(std::string(e.what()) == "eof");
  }
  REQUIRE(whole >= 1);
}

TEST_CASE("SIGTERM finishes requests that have begun to arrive, and the event they carry is stored") {
  // Before, a connection whose request was still arriving was closed unanswered.
  Fixture f;
  test::Server server(f.dir, f.db);
  Connection post(server.port());
  Connection get(server.port());
  const std::string body = R"({"user":"late-user","item":"i1"})";
  post.send("POST /v1/events HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
            body.substr(0, 10));
  get.send("GET /v1/users/u1/recom");
  // Both partial requests are read (sanitized servers are slower).
  const std::chrono::milliseconds settle(std::getenv("RECSYS_SANITIZED") ? 1000 : 200);
  std::this_thread::sleep_for(settle);
  server.process().signal(SIGTERM);
  std::this_thread::sleep_for(settle);
  post.send(body.substr(10));
  get.send("mendations HTTP/1.1\r\nHost: localhost\r\n\r\n");
  auto stored = post.read_response();
  REQUIRE(stored.status == 200);
  REQUIRE(stored.body == "{\"accepted\":1}");
  auto answered = get.read_response();
  REQUIRE(answered.status == 200);
  REQUIRE(test::parse_body(answered.body).id == "u1");
  // The SIGTERM above ends it: wait for that exit. Only a signal
  // ThreadSanitizer lost (process.hpp) is sent again, after 30 s.
  auto waited = server.process().wait_for(std::chrono::seconds(30));
  auto result = waited ? *waited : server.stop();
  REQUIRE(result.status == 0);
  auto db = test::open_db(f.dir / "db", store::OpenMode::ReadOnly);
  REQUIRE(store::find_index(db, db.begin_read(), store::IdKind::User, "late-user"));
}

TEST_CASE("SIGHUP stops serve like SIGTERM, and SIGPIPE (a log reader gone) does not stop it") {
  // Before, SIGHUP (a closed ssh session) ended the server at once with exit
  // 129, without the final sync, and SIGPIPE (`serve 2>&1 | head`) with 141.
  Fixture f;
  test::Server server(f.dir, f.db);
  server.process().signal(SIGPIPE);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Connection c(server.port());
  REQUIRE(c.get("/healthz").status == 200);
  server.process().signal(SIGHUP);
  auto result = server.process().wait_for(std::chrono::seconds(10));
  REQUIRE(result);
  REQUIRE(result->status == 0);
  REQUIRE_THAT(result->err, Catch::Contains("received SIGHUP") && Catch::Contains("stopped"));
}

TEST_CASE("SIGTERM repeated until serve exits still ends it with exit 0, after the database is closed") {
  // Before, serve's Asio signal_set restored the default action when it was
  // destroyed, before the events writer's last sync and the environment's
  // close: a SIGTERM in that time (a shell's kill loop, systemd and an
  // operator at once) ended the process with 143, in 9 of 20 tries of a shell
  // loop. The handler now stays installed until the process ends.
  Fixture f;
  const int rounds = std::getenv("RECSYS_SANITIZED") ? 4 : 12;
  for (int round = 0; round < rounds; ++round) {
    CAPTURE(round);
    test::Server server(f.dir, f.db);
    Connection c(server.port());
    const auto stored = c.request("POST", "/v1/events", R"({"user":"repeat-)" + std::to_string(round) + R"(","item":"i1"})");
    REQUIRE(stored.status == 200);
    auto& process = server.process();
    std::optional<test::RunResult> result;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!result) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      process.signal(SIGTERM);
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      result = process.wait_for(std::chrono::milliseconds(0));
    }
    REQUIRE(result->status == 0);
    REQUIRE_THAT(result->err, Catch::Contains("received SIGTERM") && Catch::Contains("stopped"));
  }
  // Every acknowledged event is there, and the database opens for writing.
  auto db = test::open_db(f.dir / "db", store::OpenMode::ReadWrite);
  for (int round = 0; round < rounds; ++round)
    REQUIRE(store::find_index(db, db.begin_read(), store::IdKind::User, "repeat-" + std::to_string(round)));
}

TEST_CASE("serve started ignoring SIGHUP and SIGINT (nohup, a script's background job) keeps ignoring SIGHUP only") {
  // nohup's SIGHUP stays ignored; SIGINT, which a shell ignores in its
  // background jobs, still stops serve (`kill -INT`), as it always did.
  Fixture f;
  test::Server server(f.dir, f.db, {}, {"/bin/sh", "-c", "trap '' HUP INT; exec \"$0\" \"$@\""});
  Connection c(server.port());
  server.process().signal(SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  REQUIRE(c.get("/healthz").status == 200);
  REQUIRE_FALSE(server.process().wait_for(std::chrono::milliseconds(0)));
  // An ignored SIGINT fails here rather than hanging the test program.
  server.process().signal(SIGINT);
  auto result = server.process().wait_for(std::chrono::seconds(30));
  if (!result && std::getenv("RECSYS_SANITIZED")) {  // ThreadSanitizer may lose a signal (process.hpp)
    server.process().signal(SIGINT);
    result = server.process().wait_for(std::chrono::seconds(30));
  }
  REQUIRE(result);
  REQUIRE(result->status == 0);
  REQUIRE_THAT(result->err, Catch::Contains("received SIGINT") && Catch::Contains("stopped"));
  REQUIRE_THAT(result->err, !Catch::Contains("SIGHUP"));
}
