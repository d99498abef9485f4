// What an operator watches for months: /metrics' process, database and
// events-writer figures checked against the system's own, and events beside
// another process that holds the database's write lock (an import, a train, a
// stopped process).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "../rank/small_db.hpp"
#include "config.h"
#include "client.hpp"
#include "served_db.hpp"
#include "store/ids.hpp"
#include "store/ratings.hpp"

using namespace recsys;
using test::Connection;
namespace fs = std::filesystem;

namespace {

struct Fixture : test::ServedDb {
  Fixture() : ServedDb(20, 30, 21, 5) {}
};

// Samples by their full name with labels ("a{b=\"c\"}"), after checking the
// text format: every sample's family has one TYPE line, before its samples.
std::map<std::string, double> parse_metrics(const std::string& text) {
  std::map<std::string, double> samples;
  std::set<std::string> typed;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::string name = line.substr(7, line.find(' ', 7) - 7);
      INFO(line);
      REQUIRE(typed.insert(name).second);
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    const std::string key = line.substr(0, space);
    std::string family = key.substr(0, key.find('{'));
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s(suffix);
      if (family.size() > s.size() && family.compare(family.size() - s.size(), s.size(), s) == 0 &&
          typed.count(family.substr(0, family.size() - s.size()))) {
        family.resize(family.size() - s.size());
      }
    }
    INFO(line);
    REQUIRE(typed.count(family) == 1);
    samples[key] = std::stod(line.substr(space + 1));
  }
  return samples;
}

double value(const std::map<std::string, double>& m, const std::string& key) {
  auto it = m.find(key);
  INFO(key);
  REQUIRE(it != m.end());
  return it->second;
}

// A field of /proc/PID/status in kB, as bytes.
double status_bytes(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) * 1024;
  }
  return -1;
}

std::size_t open_fds(pid_t pid) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) ++n;
  return n;
}

// Holds the database's writers' lock (store::FileLock: flock on data.mdb), as
// another recsys process inside its write transaction does.
class WriteLockHolder {
 public:
  explicit WriteLockHolder(const fs::path& data_file) {
    fd_ = ::open(data_file.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd_ >= 0);
    REQUIRE(::flock(fd_, LOCK_EX) == 0);
  }
  ~WriteLockHolder() { release(); }
  WriteLockHolder(const WriteLockHolder&) = delete;
  WriteLockHolder& operator=(const WriteLockHolder&) = delete;
  void release() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

bool sanitized() { return std::getenv("RECSYS_SANITIZED") != nullptr; }

}  // namespace

TEST_CASE("/metrics gives the process's memory, CPU and descriptors, the database's sizes and readers, and the "
          "events writer's commits, as the system sees them") {
  Fixture f;
  test::Server server(f.dir, f.db);
  const pid_t pid = server.process().pid();
  Connection c(server.port());
  REQUIRE(c.request("POST", "/v1/events", R"({"user":"u1","item":"i2","value":4})").status == 200);
  REQUIRE(c.request("POST", "/v1/events", R"([{"user":"u2","item":"i3","value":2},{"user":"u9","item":"new"}])")
              .status == 200);
  // A Host the server does not answer for: 421, counted under its own status
  // (it was "other").
  Connection other(server.port());
  other.send("GET /healthz HTTP/1.1\r\nHost: elsewhere.example\r\n\r\n");
  REQUIRE(other.read_response().status == 421);

  Connection extra1(server.port()), extra2(server.port()), extra3(server.port());
  REQUIRE(extra1.get("/healthz").status == 200);
  REQUIRE(extra2.get("/healthz").status == 200);
  REQUIRE(extra3.get("/healthz").status == 200);
  auto response = c.get("/metrics");
  REQUIRE(response.status == 200);
  const auto m = parse_metrics(response.body);
  const double rss = status_bytes(pid, "VmRSS");
  const std::size_t fds = open_fds(pid);

  // The events writer: 3 events in 2 requests, in 1 or 2 commits.
  REQUIRE(value(m, "recsys_events_total") == 3);
  const double commits = value(m, "recsys_event_commits_total{result=\"ok\"}");
  REQUIRE(commits >= 1);
  REQUIRE(commits <= 2);
  REQUIRE(value(m, "recsys_event_commits_total{result=\"failed\"}") == 0);
  REQUIRE(value(m, "recsys_event_commit_duration_seconds_count") == commits);
  REQUIRE(value(m, "recsys_event_commit_duration_seconds_bucket{le=\"+Inf\"}") == commits);
  REQUIRE(value(m, "recsys_event_commit_duration_seconds_sum") > 0);
  REQUIRE(value(m, "recsys_event_requests_pending") == 0);
  REQUIRE(value(m, "recsys_event_lock_wait_seconds") == 0);
  REQUIRE(value(m, "recsys_http_requests_total{route=\"other\",status=\"421\"}") == 1);

  // The database, against the file and LMDB's own figures.
  const double file = static_cast<double>(fs::file_size(fs::path(f.db) / "data.mdb"));
  REQUIRE(value(m, "recsys_db_file_bytes") == file);
  REQUIRE(value(m, "recsys_db_used_bytes") > 0);
  REQUIRE(value(m, "recsys_db_used_bytes") <= value(m, "recsys_db_end_bytes"));
  // end_bytes may pass the file: LMDB can commit a last page it never wrote.
  REQUIRE(file <= value(m, "recsys_db_map_bytes"));
  REQUIRE(value(m, "recsys_db_readers") >= 1);  // the snapshot answering /metrics
  REQUIRE(value(m, "recsys_db_max_readers") >= 126);
  REQUIRE(value(m, "recsys_db_oldest_reader_lag_transactions") == 0);
  {
    auto db = test::open_db(f.dir / "db", store::OpenMode::ReadOnly);
    const MDB_envinfo info = db.env().info();
    REQUIRE(value(m, "recsys_db_transactions_total") == static_cast<double>(info.me_last_txnid));
  }

  // The process, against /proc as read from outside.
  REQUIRE(value(m, "process_resident_memory_bytes") > 0.5 * rss);
  REQUIRE(value(m, "process_resident_memory_bytes") < 2 * rss);
  REQUIRE(value(m, "process_virtual_memory_bytes") >= value(m, "recsys_db_map_bytes"));
  REQUIRE(value(m, "process_open_fds") >= static_cast<double>(fds) - 3);
  REQUIRE(value(m, "process_open_fds") <= static_cast<double>(fds) + 3);
  REQUIRE(value(m, "process_max_fds") >= value(m, "process_open_fds"));
  REQUIRE(value(m, "process_cpu_seconds_total") >= 0);
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double started = value(m, "process_start_time_seconds");
  REQUIRE(started <= now + 1);
  REQUIRE(started >= now - value(m, "recsys_uptime_seconds") - 30);
  REQUIRE(value(m, "recsys_build_info{version=\"" RECSYS_VERSION "\"}") == 1);

  // Descriptors follow the connections.
  const double before = value(m, "process_open_fds");
  {
    Connection more1(server.port()), more2(server.port()), more3(server.port()), more4(server.port());
    REQUIRE(more4.get("/healthz").status == 200);
    const auto again = parse_metrics(c.get("/metrics").body);
    REQUIRE(value(again, "process_open_fds") >= before + 4);
  }
}

TEST_CASE("a read transaction left open by another process shows as reader lag in /metrics until it ends") {
  Fixture f;
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  auto db = test::open_db(f.dir / "db", store::OpenMode::ReadOnly);
  {
    auto held = db.begin_read();  // as a stopped `recsys recommend` or backup would hold it
    for (int i = 0; i < 3; ++i) {
      REQUIRE(c.request("POST", "/v1/events", R"({"user":"u1","item":"i)" + std::to_string(i) + R"(","value":3})")
                  .status == 200);
    }
    const auto m = parse_metrics(c.get("/metrics").body);
    REQUIRE(value(m, "recsys_db_oldest_reader_lag_transactions") >= 3);
    REQUIRE(value(m, "recsys_db_readers") >= 2);  // this one and the server's
  }
  const auto m = parse_metrics(c.get("/metrics").body);
  REQUIRE(value(m, "recsys_db_oldest_reader_lag_transactions") == 0);
}

TEST_CASE("events wait for another process's write lock at most --event-timeout, then get 503 with nothing stored, "
          "and readiness says so") {
  Fixture f;
  const int timeout = sanitized() ? 10 : 3;
  test::Server server(f.dir, f.db, {"--event-timeout", std::to_string(timeout)});
  Connection c(server.port()), probe(server.port());
  const fs::path data_file = fs::path(f.db) / "data.mdb";
  {
    WriteLockHolder other(data_file);
    const auto start = std::chrono::steady_clock::now();
    c.send("POST /v1/events HTTP/1.1\r\nHost: localhost\r\nContent-Length: 37\r\n\r\n"
           R"({"user":"u1","item":"held","value":5})");
    // "waiting" from 1 s of waiting on, until the time-out answers the request.
    std::string ready;
    for (int i = 0; i < 100 && ready.find("\"events\":\"waiting\"") == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      auto r = probe.get("/readyz");
      REQUIRE(r.status == 200);  // reads go on
      ready = r.body;
    }
    REQUIRE_THAT(ready, Catch::Contains("\"events\":\"waiting\""));
    auto m = parse_metrics(probe.get("/metrics").body);
    REQUIRE(value(m, "recsys_event_lock_wait_seconds") >= 1);
    REQUIRE(value(m, "recsys_event_requests_pending") == 1);
    REQUIRE(value(m, "recsys_events_accepting") == 0);
    REQUIRE(probe.get("/v1/users/u1/recommendations").status == 200);

    auto refused = c.read_response(std::chrono::milliseconds(sanitized() ? 60000 : 10000));
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    REQUIRE(refused.status == 503);
    REQUIRE_THAT(refused.body, Catch::Contains("database_busy") && Catch::Contains("nothing of these events"));
    REQUIRE(waited >= timeout - 0.1);
    REQUIRE(waited < timeout + (sanitized() ? 20 : 5));
    m = parse_metrics(probe.get("/metrics").body);
    REQUIRE(value(m, "recsys_event_lock_timeouts_total") == 1);
    REQUIRE(value(m, "recsys_event_requests_pending") == 0);
    REQUIRE(value(m, "recsys_event_lock_wait_seconds") == 0);
  }
  // The lock released: the next event is stored at once.
  REQUIRE(c.request("POST", "/v1/events", R"({"user":"u1","item":"after","value":5})").status == 200);
  REQUIRE_THAT(probe.get("/readyz").body, Catch::Contains("\"events\":\"accepting\""));
  auto log = server.stop();
  REQUIRE(log.status == 0);
  REQUIRE_THAT(log.err, Catch::Contains("answered 503 after waiting " + std::to_string(timeout) +
                                        " s for the database's write lock"));

  auto db = test::open_db(f.dir / "db", store::OpenMode::ReadOnly);
  auto txn = db.begin_read();
  REQUIRE(store::find_index(db, txn, store::IdKind::Item, "after"));
  REQUIRE_FALSE(store::find_index(db, txn, store::IdKind::Item, "held"));  // refused: nothing of it stored
}

TEST_CASE("SIGTERM while events wait for another process's write lock ends the server within --event-timeout") {
  Fixture f;
  test::Server server(f.dir, f.db, {"--event-timeout", "2"});
  Connection c(server.port());
  WriteLockHolder other(fs::path(f.db) / "data.mdb");
  c.send("POST /v1/events HTTP/1.1\r\nHost: localhost\r\nContent-Length: 37\r\n\r\n"
         R"({"user":"u1","item":"held","value":5})");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto start = std::chrono::steady_clock::now();
  auto log = server.stop();  // the writer, blocked for good before, joined the shutdown
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(log.status == 0);
  REQUIRE(took < (sanitized() ? 40 : 12));
  REQUIRE_THAT(log.err, Catch::Contains("stopped"));
}

TEST_CASE("a command waiting for another process's write lock says so after 2 s, then goes on") {
  Fixture f;
  auto other = std::make_unique<WriteLockHolder>(fs::path(f.db) / "data.mdb");
  test::Process prune({test::recsys_bin(), "--db", f.db, "models", "prune", "--keep", "5"}, f.dir.path());
  const std::string notice = "waiting for another process to finish writing to";
  const auto start = std::chrono::steady_clock::now();
  while (prune.current_stderr().find(notice) == std::string::npos &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE_THAT(prune.current_stderr(), Catch::Contains(notice));
  REQUIRE(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(1900));  // said after 2 s
  other.reset();  // the command, blocked in flock, takes the lock at its release
  auto r = prune.wait();
  INFO(r.err);
  REQUIRE(r.status == 0);
}

// A crash (a damaged page's garbage read inside LMDB, or a defect) ended the
// server with a bare signal and no word in its log.
TEST_CASE("a server that crashes says in its log what to run, and still ends by the signal") {
  if (sanitized()) return;  // the sanitizers' own handlers report there
  Fixture f;
  test::Server server(f.dir, f.db);
  server.process().signal(SIGSEGV);
  auto r = server.process().wait();
  REQUIRE(r.status == 128 + SIGSEGV);
  REQUIRE_THAT(r.err, Catch::Contains("recsys: fatal: segmentation fault: a damaged database (run recsys check"));
}
