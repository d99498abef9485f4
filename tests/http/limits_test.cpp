// Fair connection limits against the real server: the cap, idle connections
// making room, /healthz at the cap, one address's share, the descriptor limit.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "client.hpp"
#include "served_db.hpp"

using namespace recsys;
using test::Connection;

namespace {

struct Fixture : test::ServedDb {
  Fixture() : ServedDb(30, 40, 11, 5) {}
};

const std::string kPartial = "GET /healthz HTTP/1.1\r\n";  // a request still arriving: not idle

// Normal clients from 127.0.0.1: requests that did not get a 200.
int failed_requests(int port, int clients, int requests) {
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      try {
        Connection c(port, "127.0.0.1");
        for (int i = 0; i < requests; ++i) {
          if (c.get("/v1/users/u" + std::to_string((t + i) % 30) + "/recommendations").status != 200) ++failed;
        }
      } catch (const std::exception&) {
        failed += requests;
      }
    });
  }
  for (auto& t : threads) t.join();
  return failed;
}

}  // namespace

TEST_CASE("at the connection cap the oldest idle connection makes room, then /healthz still answers") {
  Fixture f;
  test::Server server(f.dir, f.db, {"--max-connections", "2", "--max-connections-per-ip", "0", "--threads", "1"});
  Connection a(server.port()), b(server.port());
  REQUIRE(a.get("/healthz").status == 200);
  REQUIRE(b.get("/healthz").status == 200);
  Connection c(server.port());
  REQUIRE(c.get("/v1/users/u1/recommendations").status == 200);
  REQUIRE(a.closed_by_peer());  // the longest idle
  REQUIRE(b.get("/healthz").status == 200);

  // Both connections busy: newcomers may ask /healthz, anything else gets 503.
  b.send(kPartial);
  c.send(kPartial);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // until the server has read them
  Connection d(server.port());
  auto refused = d.get("/v1/users/u1/recommendations");
  REQUIRE(refused.status == 503);
  REQUIRE_THAT(refused.body, Catch::Contains("too_many_connections"));
  REQUIRE(d.closed_by_peer());
  Connection e(server.port());
  REQUIRE(e.get("/healthz").status == 200);
  REQUIRE(e.closed_by_peer());
  // Liveness by its path: a probe's query or an absolute-form target too
  // (they were refused 503 at the cap).
  for (const char* target : {"/healthz?probe=1", "http://localhost/healthz"}) {
    Connection h(server.port());
    REQUIRE(h.get(target).status == 200);
    REQUIRE(h.closed_by_peer());
  }
  // The health reserve is bounded too: past it, a 503 without reading.
  std::vector<std::unique_ptr<Connection>> held;
  for (int i = 0; i < 16; ++i) {
    held.push_back(std::make_unique<Connection>(server.port()));
    held.back()->send(kPartial);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Connection g(server.port());
  REQUIRE(g.read_response().status == 503);
  b.send("\r\n");
  REQUIRE(b.read_response().status == 200);  // the busy ones were never cut
}

// Connections admitted over the cap that sent nothing kept their place in the
// health reserve for the idle time-out: a flood of silent sockets kept
// /healthz at 503 for that long. They now have two seconds for their request.
TEST_CASE("silent connections over the cap free the health reserve within seconds") {
  Fixture f;
  test::Server server(f.dir, f.db,
                      {"--max-connections", "2", "--max-connections-per-ip", "0", "--threads", "1", "--idle-timeout",
                       "120"});
  Connection a(server.port()), b(server.port());
  a.send(kPartial);
  b.send(kPartial);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::vector<std::unique_ptr<Connection>> silent;
  for (int i = 0; i < 16; ++i) silent.push_back(std::make_unique<Connection>(server.port()));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  REQUIRE(Connection(server.port()).read_response().status == 503);  // the reserve is full
  for (auto& c : silent) REQUIRE(c->closed_by_peer(std::chrono::milliseconds(6000)));
  Connection health(server.port());
  REQUIRE(health.get("/healthz").status == 200);
  a.send("\r\n");
  REQUIRE(a.read_response().status == 200);  // the busy ones were never cut
}

// Connections answered from the health reserve linger up to 2 s after their
// 503 (Session::linger). Counted against the cap, they kept every newcomer at
// 503 for that long after the connections under the cap had closed.
TEST_CASE("once the connections under the cap close, a newcomer is served while reserve connections linger") {
  Fixture f;
  test::Server server(f.dir, f.db, {"--max-connections", "2", "--max-connections-per-ip", "0", "--threads", "1"});
  auto a = std::make_unique<Connection>(server.port());
  auto b = std::make_unique<Connection>(server.port());
  a->send(kPartial);
  b->send(kPartial);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::vector<std::unique_ptr<Connection>> reserve;
  for (int i = 0; i < 16; ++i) {
    reserve.push_back(std::make_unique<Connection>(server.port()));
    REQUIRE(reserve.back()->get("/v1/users/u1/recommendations").status == 503);
  }
  a.reset();
  b.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // until the server has seen them close
  Connection c(server.port());
  REQUIRE(c.get("/v1/users/u1/recommendations").status == 200);
  // A second newcomer fills the cap again; once the lingering reserve
  // connections are gone, the reserve answers /healthz over it (e).
  Connection d(server.port());
  REQUIRE(d.get("/v1/users/u2/recommendations").status == 200);
  c.send(kPartial);
  d.send(kPartial);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  reserve.clear();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Connection e(server.port());
  REQUIRE(e.get("/healthz").status == 200);
  REQUIRE(e.closed_by_peer());
  // Liveness by its path: a probe's query or an absolute-form target too
  // (they were refused 503 at the cap).
  for (const char* target : {"/healthz?probe=1", "http://localhost/healthz"}) {
    Connection h(server.port());
    REQUIRE(h.get(target).status == 200);
    REQUIRE(h.closed_by_peer());
  }
}

TEST_CASE("1,200 slow connections from one address leave normal clients 0 errors") {
  Fixture f;
  test::Server server(f.dir, f.db, {"--max-connections", "1000", "--max-connections-per-ip", "100"});
  std::vector<std::unique_ptr<Connection>> slow;
  int refused = 0;
  for (int i = 0; i < 1200; ++i) {
    slow.push_back(std::make_unique<Connection>(server.port(), "127.0.0.2"));
    slow.back()->try_send(kPartial);
  }
  REQUIRE(failed_requests(server.port(), 4, 200) == 0);
  // 100 are held open; the others were answered 503 and closed (a client that
  // sent after the close may see a reset in place of the 503).
  int open = 0;
  for (auto& c : slow) {
    try {
      if (c->read_response(std::chrono::milliseconds(1)).status == 503) ++refused;
    } catch (const std::runtime_error& e) {
      std::string(e.what()) == "timeout" ? ++open : ++refused;
    }
  }
  REQUIRE(open == 100);
  REQUIRE(refused == 1100);
}

TEST_CASE("by default one address may hold a quarter of --max-connections") {
  Fixture f;
  test::Server server(f.dir, f.db, {"--max-connections", "40"});
  REQUIRE_THAT(server.process().current_stderr(), Catch::Contains("at most 40 connections, 10 per client address"));
  std::vector<std::unique_ptr<Connection>> held;
  for (int i = 0; i < 10; ++i) {
    held.push_back(std::make_unique<Connection>(server.port(), "127.0.0.3"));
    REQUIRE(held.back()->get("/healthz").status == 200);
  }
  Connection extra(server.port(), "127.0.0.3");
  REQUIRE(extra.read_response().status == 503);
  REQUIRE(Connection(server.port(), "127.0.0.4").get("/healthz").status == 200);
  held.pop_back();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the server sees the close
  REQUIRE(Connection(server.port(), "127.0.0.3").get("/healthz").status == 200);
}

TEST_CASE("with the descriptor limit below --max-connections clients get 503, not a hang, and the log stays quiet") {
  Fixture f;
  test::Server server(f.dir, f.db, {"--max-connections", "1000", "--max-connections-per-ip", "0", "--threads", "1"},
                      {"prlimit", "--nofile=200:200"});
  REQUIRE_THAT(server.process().current_stderr(), Catch::Contains("--max-connections lowered from 1000 to"));
  std::vector<std::unique_ptr<Connection>> held;
  int served = 0, refused = 0, hung = 0;
  for (int i = 0; i < 250; ++i) {
    held.push_back(std::make_unique<Connection>(server.port()));
    held.back()->try_send(kPartial);
  }
  for (auto& c : held) {
    c->try_send("\r\n");
    try {
      int status = c->read_response(std::chrono::milliseconds(2000)).status;
      status == 200 ? ++served : status == 503 ? ++refused : 0;
    } catch (const std::runtime_error& e) {
      // A refused client that sent after the 503 may see a reset instead.
      std::string(e.what()) == "eof" ? ++refused : ++hung;
    }
  }
  CAPTURE(served, refused, hung);
  REQUIRE(hung == 0);
  REQUIRE(served + refused == 250);
  // How many are refused depends on how many were still idle (and evicted, after
  // their answer) when the next ones came: a slow server serves them all.
  REQUIRE(served >= 90);
  REQUIRE(Connection(server.port()).get("/healthz").status == 200);
  auto log = server.stop().err;
  std::size_t lines = 0;
  for (std::size_t p = 0; (p = log.find("accept:", p)) != std::string::npos; ++p) ++lines;
  REQUIRE(lines <= 1);
}
