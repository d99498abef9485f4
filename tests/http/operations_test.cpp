// Operating the server: one listening socket per port, the systemd watchdog
// and SIGTERM, and the token file from the environment (packaging/recsys.service).
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <cstdlib>
#include <regex>
#include <string>
#include <thread>

#include "scoped_env.hpp"
#include "client.hpp"
#include "served_db.hpp"

using namespace recsys;
using test::Connection;
using test::ScopedEnv;

namespace {

struct Fixture : test::ServedDb {
  Fixture() : ServedDb(20, 30, 21, 5) {}
};

// A loopback listener that is not recsys (SO_REUSEPORT set, as a careless peer might).
class PortHolder {
 public:
  PortHolder() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 8) != 0) {
      throw std::runtime_error("cannot listen");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~PortHolder() { ::close(fd_); }
  PortHolder(const PortHolder&) = delete;
  PortHolder& operator=(const PortHolder&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// `recsys serve` on `port` must exit at once (a server that starts is killed after 3 s).
test::RunResult serve_expecting_failure(const Fixture& f, int port, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{test::recsys_bin(), "--db", f.db, "serve", "--port", std::to_string(port)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  test::Process p(argv, f.dir.path());
  auto r = p.wait_for(std::chrono::seconds(3));
  if (!r) FAIL("the server started: " + p.current_stderr());
  return *r;
}

// A unix datagram socket standing in for systemd's NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(const std::filesystem::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("bind notify");
  }
  ~NotifySocket() { ::close(fd_); }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;
  // Every message received so far, one per line.
  std::string drain() {
    std::string all;
    char buf[512];
    ssize_t n;
    while ((n = ::recv(fd_, buf, sizeof buf, 0)) > 0) all.append(buf, static_cast<std::size_t>(n)).push_back('\n');
    return all;
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("a port in use fails with 'address already in use', whoever holds it") {
  Fixture f;
  test::Server first(f.dir, f.db);
  auto second = serve_expecting_failure(f, first.port());
  REQUIRE(second.status == 1);
  REQUIRE_THAT(second.err, Catch::Contains("address already in use", Catch::CaseSensitive::No));
  // The first server still answers every request alone.
  for (int i = 0; i < 12; ++i) REQUIRE(Connection(first.port()).get("/readyz").status == 200);

  PortHolder other;
  auto third = serve_expecting_failure(f, other.port());
  REQUIRE(third.status == 1);
  REQUIRE_THAT(third.err, Catch::Contains("address already in use", Catch::CaseSensitive::No));
}

TEST_CASE("with several threads, every worker serves from the one listening socket") {
  Fixture f;
  test::Server server(f.dir, f.db, {"--threads", "3"});
  for (int i = 0; i < 30; ++i) REQUIRE(Connection(server.port()).get("/healthz").status == 200);
  REQUIRE(server.stop().status == 0);
}

TEST_CASE("SIGTERM stops the server promptly under the systemd watchdog, which it pings") {
  Fixture f;
  NotifySocket notify(f.dir / "notify");
  ScopedEnv socket_env("NOTIFY_SOCKET", (f.dir / "notify").string());
  ScopedEnv usec_env("WATCHDOG_USEC", "2000000");
  // WATCHDOG_PID must be the server's pid: the shell exports its own, then execs recsys.
  test::Process p({"/bin/sh", "-c", "WATCHDOG_PID=$$; export WATCHDOG_PID; exec \"$0\" \"$@\"", test::recsys_bin(),
                   "--db", f.db, "serve", "--port", "0", "--threads", "2"},
                  f.dir.path());
  std::regex listening("listening on [0-9.]+:([0-9]+)");
  std::smatch m;
  std::string err;
  for (int i = 0; i < 500 && !std::regex_search(err = p.current_stderr(), m, listening); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(std::regex_search(err, m, listening));
  REQUIRE(Connection(std::stoi(m[1])).get("/healthz").status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // one watchdog interval (1 s) and a bit
  std::string messages = notify.drain();
  REQUIRE(count(messages, "READY=1") == 1);
  REQUIRE(count(messages, "WATCHDOG=1") >= 2);

  auto start = std::chrono::steady_clock::now();
  p.signal(SIGTERM);
  auto r = p.wait_for(std::chrono::seconds(3));
  if (!r) FAIL("still running 3 s after SIGTERM");
  REQUIRE(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  REQUIRE(r->status == 0);
  REQUIRE_THAT(r->err, Catch::Contains("stopped"));
  REQUIRE(count(notify.drain(), "STOPPING=1") == 1);
}

TEST_CASE("RECSYS_TOKEN_FILE protects events like --token-file") {
  Fixture f;
  auto token = f.dir.write("token", "env-token\n");
  ScopedEnv env("RECSYS_TOKEN_FILE", token.string());
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  std::string event = R"({"user":"u1","item":"i2"})";
  REQUIRE(c.request("POST", "/v1/events", event).status == 401);
  REQUIRE(c.request("POST", "/v1/events", event, "Authorization: Bearer env-token\r\n").status == 200);
}

TEST_CASE("an empty, unreadable or unsendable token file, an empty file name, or an empty RECSYS_TOKEN, refuses to start") {
  Fixture f;
  auto empty = f.dir.write("empty-token", " \n");
  {
    ScopedEnv env("RECSYS_TOKEN_FILE", empty.string());
    auto r = serve_expecting_failure(f, 0);
    REQUIRE(r.status == 1);
    REQUIRE_THAT(r.err, Catch::Contains("empty-token") && Catch::Contains("is empty"));
  }
  for (const char* blank : {"", " \n"}) {
    ScopedEnv env("RECSYS_TOKEN", blank);
    auto r = serve_expecting_failure(f, 0);
    REQUIRE(r.status == 1);
    REQUIRE_THAT(r.err, Catch::Contains("RECSYS_TOKEN is set but empty"));
  }
  // An empty file name, in the variable or as the option, is a name that went missing.
  {
    ScopedEnv env("RECSYS_TOKEN_FILE", "");
    auto r = serve_expecting_failure(f, 0);
    REQUIRE(r.status == 1);
    REQUIRE_THAT(r.err, Catch::Contains("RECSYS_TOKEN_FILE is set but empty"));
  }
  auto unnamed = serve_expecting_failure(f, 0, {"--token-file", ""});
  REQUIRE(unnamed.status == 2);
  REQUIRE_THAT(unnamed.err, Catch::Contains("the token file name is empty"));
  auto missing = serve_expecting_failure(f, 0, {"--token-file", (f.dir / "no-such-token").string()});
  REQUIRE(missing.status == 1);
  REQUIRE_THAT(missing.err, Catch::Contains("cannot read the token file") && Catch::Contains("no-such-token"));
  auto directory = serve_expecting_failure(f, 0, {"--token-file", f.dir.path().string()});
  REQUIRE(directory.status == 1);
  REQUIRE_THAT(directory.err, Catch::Contains("token file"));
  // A control character inside the token: no Authorization header can carry
  // it, so with it no event could ever be accepted (it was taken).
  auto nul = f.dir.write("nul-token", std::string("ab\0cd\n", 6));
  auto r = serve_expecting_failure(f, 0, {"--token-file", nul.string()});
  REQUIRE(r.status == 1);
  REQUIRE_THAT(r.err, Catch::Contains("nul-token") && Catch::Contains("holds a control character (byte 0)"));
  ScopedEnv env("RECSYS_TOKEN", "ab\x01" "cd");
  r = serve_expecting_failure(f, 0);
  REQUIRE(r.status == 1);
  REQUIRE_THAT(r.err, Catch::Contains("RECSYS_TOKEN holds a control character (byte 1)"));
}

TEST_CASE("unauthenticated writes on a non-loopback address are warned about at start") {
  Fixture f;
  {
    test::Server open(f.dir, f.db, {"--address", "0.0.0.0"});
    REQUIRE(Connection(open.port()).get("/healthz").status == 200);
    REQUIRE_THAT(open.stop().err, Catch::Contains("unauthenticated"));
  }
  test::Server local(f.dir, f.db);
  REQUIRE_THAT(local.stop().err, !Catch::Contains("unauthenticated"));
  auto token = f.dir.write("token", "t0k\n");
  test::Server protected_any(f.dir, f.db, {"--address", "0.0.0.0", "--token-file", token.string()});
  REQUIRE_THAT(protected_any.stop().err, !Catch::Contains("unauthenticated"));
}

TEST_CASE("--access-log writes the client, the request, the status, the body bytes and the time of each request") {
  Fixture f;
  test::Server server(f.dir, f.db, {"--access-log"});
  Connection c(server.port());
  auto r = c.get("/v1/users/u1/recommendations?k=2");
  REQUIRE(r.status == 200);
  REQUIRE(c.get("/nowhere").status == 404);
  std::regex line("access 127\\.0\\.0\\.1 GET /v1/users/u1/recommendations\\?k=2 200 " + std::to_string(r.body.size()) +
                  " [0-9]+\\.[0-9]{2}ms");
  std::string err;
  for (int i = 0; i < 100 && !std::regex_search(err = server.process().current_stderr(), line); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  INFO(err);
  REQUIRE(std::regex_search(err, line));
  REQUIRE_THAT(err, Catch::Contains("access 127.0.0.1 GET /nowhere 404 "));
}

TEST_CASE("RECSYS_TOKEN is trimmed like the token file's line") {
  Fixture f;
  ScopedEnv env("RECSYS_TOKEN", " env-token\n");  // as `$(cat file)` or an editor may leave it
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  std::string event = R"({"user":"u1","item":"i2"})";
  REQUIRE(c.request("POST", "/v1/events", event).status == 401);
  REQUIRE(c.request("POST", "/v1/events", event, "Authorization: Bearer env-token\r\n").status == 200);
}
