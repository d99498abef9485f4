// Time-outs that hold against slow clients (the real server on loopback):
// a header trickled a byte at a time, a body below the minimum rate, a client
// that never takes its responses.
#include <catch2/catch.hpp>

#include <chrono>
#include <regex>
#include <string>
#include <thread>

#include "client.hpp"
#include "served_db.hpp"

using namespace recsys;
using test::Connection;
using Clock = std::chrono::steady_clock;

namespace {

struct Fixture : test::ServedDb {
  Fixture() : ServedDb(30, 40, 11, 5) {}
};

// Sends `bytes` one byte every 0.5 s until the server closes the connection;
// returns the seconds it took, or a large number if it never did.
double trickle_until_closed(Connection& c, const std::string& bytes) {
  auto start = Clock::now();
  for (char b : bytes) {
    if (!c.try_send(std::string(1, b))) break;
    if (c.closed_by_peer(std::chrono::milliseconds(500))) break;
    if (Clock::now() - start > std::chrono::seconds(12)) return 1e9;
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

long open_connections(int port) {
  auto body = Connection(port).get("/metrics").body;
  std::smatch m;
  REQUIRE(std::regex_search(body, m, std::regex("recsys_http_connections ([0-9]+)")));
  return std::stol(m[1]) - 1;  // not counting the one asking
}

}  // namespace

TEST_CASE("a header sent one byte every 0.5 s is cut within twice --read-timeout") {
  Fixture f;
  test::Server server(f.dir, f.db, {"--read-timeout", "2"});
  Connection c(server.port());
  double seconds = trickle_until_closed(c, "GET /healthz HTTP/1.1\r\nX-Slow: " + std::string(100, 'a'));
  CAPTURE(seconds);
  REQUIRE(seconds >= 1.5);
  REQUIRE(seconds <= 4.0);
  REQUIRE(Connection(server.port()).get("/healthz").status == 200);
}

// Empty lines before a request line are allowed (RFC 9112 2.2), and each one
// restarted the idle time-out: a client sending CRLF once a second held its
// connection past both time-outs, before a first request and after one. They
// now count as idle time.
TEST_CASE("empty lines trickled before a request do not hold a connection past --idle-timeout") {
  Fixture f;
  test::Server server(f.dir, f.db, {"--read-timeout", "2", "--idle-timeout", "3"});
  for (bool after_a_request : {false, true}) {
    INFO("after a request: " << after_a_request);
    Connection c(server.port());
    if (after_a_request) REQUIRE(c.get("/healthz").status == 200);
    std::string blank;
    for (int i = 0; i < 30; ++i) blank += "\r\n";
    double seconds = trickle_until_closed(c, blank);
    CAPTURE(seconds);
    REQUIRE(seconds >= 1.5);
    REQUIRE(seconds <= 4.5);
  }
  // A lone CR, a request line begun, has --read-timeout like any begun request (not --idle-timeout).
  {
    test::Server slow(f.dir, f.db, {"--read-timeout", "1", "--idle-timeout", "8"});
    Connection cr(slow.port());
    REQUIRE(cr.try_send("\r"));
    const auto start = Clock::now();
    REQUIRE(cr.closed_by_peer(std::chrono::milliseconds(6000)));
    REQUIRE(std::chrono::duration<double>(Clock::now() - start).count() <= 3.5);
  }
  // A request after empty lines is answered as before.
  Connection c(server.port());
  c.send("\r\n\r\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  REQUIRE(c.read_response().status == 200);
}

TEST_CASE("a body below the minimum rate is cut; one above it may take longer than --read-timeout") {
  Fixture f;
  test::Server server(f.dir, f.db, {"--read-timeout", "2", "--min-body-rate", "1000"});
  Connection slow(server.port());
  slow.send("POST /v1/events HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
  double seconds = trickle_until_closed(slow, std::string(100, ' '));
  CAPTURE(seconds);
  REQUIRE(seconds <= 4.0);

  // 24 KiB at about 8 KiB/s: 3 s, longer than the grace, well above the rate.
  std::string body = std::string(24 * 1024 - 27, ' ') + R"([{"user":"u1","item":"i2"}])";
  Connection steady(server.port());
  steady.send("POST /v1/events HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
  auto start = Clock::now();
  for (std::size_t i = 0; i < body.size(); i += 2048) {
    steady.send(body.substr(i, 2048));
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  REQUIRE(Clock::now() - start > std::chrono::milliseconds(2500));
  auto r = steady.read_response();
  REQUIRE(r.status == 200);
  REQUIRE(r.body == "{\"accepted\":1}");
}

TEST_CASE("a client that never takes its responses is closed after --send-timeout") {
  Fixture f;
  test::Server server(f.dir, f.db, {"--send-timeout", "2", "--threads", "1"});
  Connection c(server.port());
  int small = 0;
  setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  std::string batch;
  for (int i = 0; i < 200; ++i) batch += "GET /metrics HTTP/1.1\r\n\r\n";
  // Pipeline whole requests until the server stops reading (its output is stuck), without blocking.
  std::size_t offset = 0;
  for (auto until = Clock::now() + std::chrono::seconds(1); Clock::now() < until;) {
    ssize_t n = ::send(c.fd(), batch.data() + offset, batch.size() - offset, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      offset = (offset + static_cast<std::size_t>(n)) % batch.size();
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  REQUIRE(open_connections(server.port()) == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(4000));
  REQUIRE(open_connections(server.port()) == 0);
}
