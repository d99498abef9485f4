// Bounded memory per connection (docs/serving.md, "Limits"): clients that
// pipeline requests and never read cost the server a bounded amount each.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "client.hpp"
#include "served_db.hpp"

using namespace recsys;
using test::Connection;
using Clock = std::chrono::steady_clock;

namespace {

struct Fixture : test::ServedDb {
  Fixture() : ServedDb(30, 40, 11, 5) {}
};

// Under ASan/TSan (RECSYS_SANITIZED) the server's RSS holds shadow memory and the
// allocator's quarantine of freed blocks, so the bounds below are checked in the
// release build only; the sanitizer builds still run each scenario for errors.
bool rss_is_meaningful() { return std::getenv("RECSYS_SANITIZED") == nullptr; }

double rss_mib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  throw std::runtime_error("no VmRSS");
}

// Sends whole copies of `batch` without blocking until the server stops
// reading for `quiet` or `total` bytes went out; returns the bytes sent.
std::size_t pipeline_without_reading(Connection& c, const std::string& batch, std::size_t total,
                                     std::chrono::milliseconds quiet) {
  std::size_t sent = 0;
  auto last = Clock::now();
  while (sent < total && Clock::now() - last < quiet) {
    std::size_t offset = sent % batch.size();
    ssize_t n = ::send(c.fd(), batch.data() + offset, batch.size() - offset, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      last = Clock::now();
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  return sent;
}

}  // namespace

TEST_CASE("clients pipelining large answers without reading cost a bounded amount each") {
  Fixture f;
  test::Server server(f.dir, f.db, {"--threads", "1"});
  REQUIRE(Connection(server.port()).get("/metrics").status == 200);
  double before = rss_mib(server.process().pid());
  std::string batch;
  for (int i = 0; i < 640; ++i) batch += "GET /metrics HTTP/1.1\r\n\r\n";
  constexpr int kClients = 40;
  std::vector<std::unique_ptr<Connection>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<Connection>(server.port()));
    int small = 4096;
    setsockopt(clients.back()->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    clients.back()->send(batch);  // 16 KiB at once: one read of the server's holds 640 requests
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the server answer what it read
  double grown = rss_mib(server.process().pid()) - before;
  CAPTURE(grown);
  // Each read of 16 KiB holds 640 requests, about 0.7 MiB of answers; the cap
  // holds a connection at 256 KiB of unsent output plus one answer: about
  // 11 MiB for 40 clients (27 MiB without the cap).
  if (rss_is_meaningful()) REQUIRE(grown < 18.0);
  REQUIRE(Connection(server.port()).get("/healthz").status == 200);
}

TEST_CASE("one connection pipelining 100,000 requests without reading grows the server by less than 64 MiB") {
  Fixture f;
  test::Server server(f.dir, f.db, {"--threads", "1"});
  double before = rss_mib(server.process().pid());
  std::string batch;
  for (int i = 0; i < 1000; ++i) batch += "GET /v1/users/u" + std::to_string(i % 30) + "/recommendations HTTP/1.1\r\n\r\n";
  Connection c(server.port());
  std::size_t sent = pipeline_without_reading(c, batch, batch.size() * 100, std::chrono::milliseconds(500));
  CAPTURE(sent);
  double grown = rss_mib(server.process().pid()) - before;
  CAPTURE(grown);
  if (rss_is_meaningful()) REQUIRE(grown < 64.0);
  // The server answers others normally, and this client's answers arrive in order.
  REQUIRE(Connection(server.port()).get("/healthz").status == 200);
  auto r = c.read_response();
  REQUIRE(r.status == 200);
  REQUIRE_THAT(r.body, Catch::Contains("\"user\":\"u0\""));
}

TEST_CASE("the body of a POST with a wrong token is never reserved") {
  Fixture f;
  auto token = f.dir.write("token", "s3cret-token\n");
  // glibc fills fresh allocations with this byte, so a reserved body costs its
  // pages at once: the reservation itself becomes visible in VmRSS.
  ::setenv("MALLOC_PERTURB_", "165", 1);
  test::Server server(f.dir, f.db, {"--token-file", token.string(), "--threads", "1"});
  ::unsetenv("MALLOC_PERTURB_");
  double before = rss_mib(server.process().pid());
  std::vector<std::unique_ptr<Connection>> clients;
  for (int i = 0; i < 30; ++i) {
    clients.push_back(std::make_unique<Connection>(server.port()));
    clients.back()->send("POST /v1/events HTTP/1.1\r\nAuthorization: Bearer wrong-token\r\nContent-Length: 1000000\r\n\r\n[");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  double grown = rss_mib(server.process().pid()) - before;
  CAPTURE(grown);
  if (rss_is_meaningful()) REQUIRE(grown < 10.0);  // 30 MiB when each body was reserved before the token check
  Connection good(server.port());
  REQUIRE(good.request("POST", "/v1/events", R"({"user":"u1","item":"i2"})", "Authorization: Bearer s3cret-token\r\n")
              .status == 200);
}
