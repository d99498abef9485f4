// What a server does when something outside it fails: a reader process dies
// holding its slot, the disk refuses the periodic sync, an unexpected error
// escapes one of its threads. The faults are injected into the real binary by
// fault_shim.cpp (LD_PRELOAD; armed with SIGUSR1 once the server listens).
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "../http/client.hpp"
#include "pipeline.hpp"
#include "scoped_env.hpp"
#include "store/ids.hpp"
#include "test_db.hpp"
#include "tmpfs.hpp"

using namespace recsys;
using namespace recsys::test;

namespace {

const char* shim_path() {
  const char* shim = std::getenv("RECSYS_FAULT_SHIM");
  return shim && *shim ? shim : nullptr;
}

// The shim preloaded with RECSYS_FAULT=fault for the children started while
// it lives. A sanitized recsys would refuse a preloaded library before its
// runtime without verify_asan_link_order=0.
class PreloadedFault {
 public:
  explicit PreloadedFault(const char* fault)
      : preload_("LD_PRELOAD", shim_path()), which_("RECSYS_FAULT", fault), had_asan_(std::getenv("ASAN_OPTIONS")) {
    asan_ = had_asan_ ? std::getenv("ASAN_OPTIONS") : "";
    ::setenv("ASAN_OPTIONS", (asan_ + (asan_.empty() ? "" : ":") + "verify_asan_link_order=0").c_str(), 1);
  }
  // Restored by hand: ScopedEnv unsets, and the sanitized run sets ASAN_OPTIONS itself.
  ~PreloadedFault() { had_asan_ ? ::setenv("ASAN_OPTIONS", asan_.c_str(), 1) : ::unsetenv("ASAN_OPTIONS"); }
  PreloadedFault(const PreloadedFault&) = delete;
  PreloadedFault& operator=(const PreloadedFault&) = delete;

 private:
  ScopedEnv preload_, which_;
  bool had_asan_;
  std::string asan_;
};

// Starts `recsys serve` with the shim preloaded and RECSYS_FAULT=fault; the
// variables reach only the child.
std::unique_ptr<Server> start_with_fault(const TempDir& dir, const std::string& db, const char* fault) {
  PreloadedFault preloaded(fault);
  return std::make_unique<Server>(dir, db);
}

// The first (user, item) pair of the pipeline's ratings file.
std::pair<std::string, std::string> known_pair(const std::string& db) {
  std::ifstream in(db + ".csv");
  std::string line;
  std::getline(in, line);  // header
  std::getline(in, line);
  auto a = line.find(',');
  auto b = line.find(',', a + 1);
  return {line.substr(0, a), line.substr(a + 1, b - a - 1)};
}

bool wait_for_log(const Process& p, const std::string& text, std::chrono::seconds limit) {
  for (auto end = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < end;) {
    if (p.current_stderr().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// An event of `user` on an item the model lacks (a new user and item each time).
std::string new_item_event(const std::string& user) {
  return R"({"user":")" + user + R"(","item":"new-item","value":4})";
}

std::chrono::seconds patience() { return std::chrono::seconds(std::getenv("RECSYS_SANITIZED") ? 30 : 10); }

}  // namespace

TEST_CASE("a reader killed with SIGKILL while a server runs leaves a slot the next open frees") {
  TempDir dir;
  std::string db = build_pipeline_db(dir, "db");
  Server server(dir, db);  // keeps the environment open: LMDB cannot just reset its reader table
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  pid_t reader = ::fork();
  REQUIRE(reader >= 0);
  if (reader == 0) {
    // The child: one read transaction, then wait to be killed.
    auto child_db = open_test_db(dir, store::OpenMode::ReadOnly);
    auto txn = child_db.begin_read();
    (void)!::write(ready[1], "r", 1);
    for (;;) ::pause();
  }
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  ::kill(reader, SIGKILL);
  ::waitpid(reader, nullptr, 0);
  ::close(ready[0]);
  ::close(ready[1]);

  auto info = run_recsys({"--db", db, "info"}, dir);
  INFO(info.err);
  REQUIRE(info.status == 0);
  REQUIRE_THAT(info.err, Catch::Contains("freed 1 reader slot(s) left by processes that died"));
  Connection conn(server.port());
  REQUIRE(conn.get("/readyz").status == 200);
}

TEST_CASE("a failed periodic sync refuses events with 503 and logs an error; reads go on") {
  if (!shim_path()) {
    WARN("RECSYS_FAULT_SHIM is not set: run through meson test");
    return;
  }
  TempDir dir;
  std::string db = build_pipeline_db(dir, "db");
  auto server = start_with_fault(dir, db, "sync_eio");
  server->process().signal(SIGUSR1);  // from now on the flusher's fdatasync fails with EIO
  Connection conn(server->port());
  auto [user, item] = known_pair(db);
  const std::string event = R"({"user":")" + user + R"(","item":")" + item + R"(","value":4})";
  REQUIRE(conn.request("POST", "/v1/events", event).status == 200);  // committed; its meta page awaits the flusher
  INFO(server->process().current_stderr());
  REQUIRE(wait_for_log(server->process(), "syncing the database to disk failed", patience()));
  REQUIRE_THAT(server->process().current_stderr(), Catch::Contains("refusing further events"));
  auto refused = conn.request("POST", "/v1/events", event);
  REQUIRE(refused.status == 503);
  REQUIRE_THAT(refused.body, Catch::Contains("reads still work"));
  REQUIRE(conn.get("/v1/users/" + user + "/recommendations?k=3").status == 200);
  REQUIRE(conn.get("/readyz").status == 200);
}

TEST_CASE("events a full disk refuses answer 503 and nothing of them is stored; events resume once space is back") {
  if (!shim_path()) {
    WARN("RECSYS_FAULT_SHIM is not set: run through meson test");
    return;
  }
  TempDir dir;
  std::string db = build_pipeline_db(dir, "db");
  auto server = start_with_fault(dir, db, "write_full");
  Connection conn(server->port());
  REQUIRE(conn.request("POST", "/v1/events", new_item_event("before")).status == 200);
  REQUIRE_THAT(conn.get("/readyz").body, Catch::Contains("\"events\":\"accepting\""));
  // The flusher syncs that commit's meta page within its 1 s interval: after
  // that no acknowledged commit depends on the sync a failing commit makes.
  std::this_thread::sleep_for(std::chrono::milliseconds(std::getenv("RECSYS_SANITIZED") ? 3000 : 1500));

  server->process().signal(SIGUSR1);  // from now on the data file takes no more bytes
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (const char* user : {"lost-1", "lost-2", "lost-3"}) {
    auto refused = conn.request("POST", "/v1/events", new_item_event(user));
    REQUIRE(refused.status == 503);
    REQUIRE_THAT(refused.body, Catch::Contains("nothing of them was stored") && Catch::Contains("retry later"));
  }
  INFO(server->process().current_stderr());
  // One log line for the run of failures, naming the cause.
  REQUIRE(wait_for_log(server->process(), "committing 1 request(s) failed", patience()));
  REQUIRE_THAT(server->process().current_stderr(), Catch::Contains("MiB free"));
  auto ready = conn.get("/readyz");
  REQUIRE(ready.status == 200);  // reads go on
  REQUIRE_THAT(ready.body, Catch::Contains("\"events\":\"failing\""));
  REQUIRE_THAT(conn.get("/metrics").body, Catch::Contains("recsys_events_accepting 0"));
  REQUIRE(conn.get("/v1/users/before/recommendations?k=3").status == 200);

  server->process().signal(SIGUSR2);  // space freed
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // Before: events stayed refused until the server was restarted.
  REQUIRE(conn.request("POST", "/v1/events", new_item_event("after")).status == 200);
  REQUIRE_THAT(conn.get("/readyz").body, Catch::Contains("\"events\":\"accepting\""));
  REQUIRE_THAT(conn.get("/metrics").body, Catch::Contains("recsys_events_accepting 1"));
  REQUIRE(wait_for_log(server->process(), "storing works again after 3 failed commit(s)", patience()));
  server.reset();

  auto check = run_recsys({"--db", db, "check"}, dir);
  INFO(check.out << check.err);
  REQUIRE(check.status == 0);
  auto handle = open_test_db(dir, store::OpenMode::ReadOnly);
  auto txn = handle.begin_read();
  REQUIRE(store::find_index(handle, txn, store::IdKind::User, "before"));
  REQUIRE(store::find_index(handle, txn, store::IdKind::User, "after"));
  for (const char* user : {"lost-1", "lost-2", "lost-3"}) REQUIRE_FALSE(store::find_index(handle, txn, store::IdKind::User, user));
}

// LMDB reports a short page write and a failed fdatasync both as EIO, and
// the fdatasync inside a commit is also the first sync of the previous
// commit's meta page (MDB_NOMETASYNC): with space on the disk the failure
// may have been that sync, so what was acknowledged is no longer vouched for.
static void refused_for_good_after_a_failed_commit(const TempDir& dir, const std::string& db) {
  auto server = start_with_fault(dir, db, "write_full");
  Connection conn(server->port());
  REQUIRE(conn.request("POST", "/v1/events", new_item_event("acknowledged")).status == 200);
  server->process().signal(SIGUSR1);  // at once: its meta page is not synced yet
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto refused = conn.request("POST", "/v1/events", new_item_event("lost"));
  REQUIRE(refused.status == 503);
  INFO(server->process().current_stderr());
  REQUIRE(wait_for_log(server->process(), "refusing further events", patience()));
  REQUIRE_THAT(server->process().current_stderr(), Catch::Contains("awaited its sync"));
  server->process().signal(SIGUSR2);  // writes work again, but the loss cannot be ruled out
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(conn.request("POST", "/v1/events", new_item_event("after")).status == 503);
  REQUIRE_THAT(conn.get("/readyz").body, Catch::Contains("\"events\":\"refused\""));
  REQUIRE(conn.get("/v1/users/acknowledged/recommendations?k=3").status == 200);  // reads go on
}

TEST_CASE("a commit that fails while the previous one awaits its sync, on a disk with space, refuses events for good") {
  if (!shim_path()) {
    WARN("RECSYS_FAULT_SHIM is not set: run through meson test");
    return;
  }
  TempDir dir;
  refused_for_good_after_a_failed_commit(dir, build_pipeline_db(dir, "db"));
}

TEST_CASE("on a small file system with space a failed commit is not taken for a full disk") {
  if (!shim_path()) {
    WARN("RECSYS_FAULT_SHIM is not set: run through meson test");
    return;
  }
  TempDir dir;
  Tmpfs disk(dir / "disk", "40m");
  if (!disk.usable()) return;
  // Over 30 MiB free of 40: before, any file system with less than 64 MiB
  // free counted as full, so the failure was taken for a short write and
  // events resumed after an EIO that may have been a failed sync.
  refused_for_good_after_a_failed_commit(dir, build_pipeline_db(dir, "disk/db"));
}

TEST_CASE("an unexpected error escaping a server thread is logged and the server exits 1") {
  if (!shim_path()) {
    WARN("RECSYS_FAULT_SHIM is not set: run through meson test");
    return;
  }
  TempDir dir;
  std::string db = build_pipeline_db(dir, "db");
  auto server = start_with_fault(dir, db, "new");
  server->process().signal(SIGUSR1);  // from now on every operator new throws
  try {
    Connection conn(server->port());  // a new connection makes a worker allocate its session
    conn.get("/readyz");
  } catch (const std::exception&) {
    // The server may close the connection as it exits.
  }
  auto exited = server->process().wait_for(patience());
  INFO(server->process().current_stderr());
  REQUIRE(exited);
  INFO(exited->err);
  REQUIRE(exited->status == 1);
  REQUIRE_THAT(exited->err, Catch::Contains("thread stopped by an unexpected error: std::bad_alloc; exiting"));
}

namespace {
// DIR/db holding 300 generated ratings (DIR/r.csv).
std::string imported_db(const TempDir& dir) {
  const auto db = (dir / "db").string();
  REQUIRE(run_recsys({"generate", "--users", "30", "--items", "20", "--ratings", "300", "-o", (dir / "r.csv").string()},
                     dir)
              .status == 0);
  REQUIRE(run_recsys({"--db", db, "import", (dir / "r.csv").string()}, dir).status == 0);
  return db;
}
}  // namespace

// A report written beside its target and renamed over it must be on the disk
// before the rename: unsynced, a power loss could leave an empty file under
// the name, where the rule is the previous content or the new one.
TEST_CASE("an output file that cannot be synced is an error and the previous file stays") {
  if (!shim_path()) {
    WARN("RECSYS_FAULT_SHIM is not set: run through meson test");
    return;
  }
  TempDir dir;
  const auto db = imported_db(dir);
  auto generated = dir.write("out.csv", "previous\n");
  auto metrics = dir.write("metrics.json", "previous\n");
  RunResult gen, train;
  {
    PreloadedFault preloaded("fsync_eio");
    ScopedEnv from_start("RECSYS_FAULT_ARMED", "1");
    gen = run_recsys({"generate", "--users", "30", "--items", "20", "--ratings", "300", "-o", generated.string()}, dir);
    train = run_recsys({"--db", db, "train", "--factors", "4", "--iterations", "2", "--metrics-json", metrics.string()},
                       dir);
  }
  for (const auto* r : {&gen, &train}) {
    INFO(r->err);
    REQUIRE(r->status == 1);
    REQUIRE_THAT(r->err, Catch::Contains("cannot write") && Catch::Contains("Input/output error"));
  }
  for (const auto& file : {generated, metrics}) {
    std::ifstream in(file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(text == "previous\n");
    REQUIRE_FALSE(std::filesystem::exists(file.string() + ".tmp"));
  }
  // Without the fault both are written.
  REQUIRE(run_recsys({"generate", "--users", "30", "--items", "20", "--ratings", "300", "-o", generated.string()}, dir)
              .status == 0);
  REQUIRE(std::filesystem::file_size(generated) > 100);
}

TEST_CASE("a database created in a backup's DEST while the copy is written is kept, and the backup refused") {
  if (!shim_path()) {
    WARN("RECSYS_FAULT_SHIM is not set: run through meson test");
    return;
  }
  TempDir dir;
  const auto db = imported_db(dir);
  // DEST/data.mdb appears between the copy's last write and its rename, as
  // when an import or a server creates a database in the (empty) DEST.
  for (bool dest_exists : {true, false}) {
    INFO("DEST existed before: " << dest_exists);
    const auto dest = dir / (dest_exists ? "empty" : "new");
    if (dest_exists) std::filesystem::create_directory(dest);
    RunResult r;
    {
      PreloadedFault preloaded("backup_race");
      ScopedEnv from_start("RECSYS_FAULT_ARMED", "1");
      r = run_recsys({"--db", db, "backup", dest.string()}, dir);
    }
    INFO(r.err);
    // Before: the rename replaced it (exit 0), and what had been committed there was lost.
    REQUIRE(r.status == 1);
    REQUIRE_THAT(r.err, Catch::Contains((dest / "data.mdb").string() + " appeared while the backup was written"));
    std::ifstream in(dest / "data.mdb");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(text == "another database\n");
    REQUIRE_FALSE(std::filesystem::exists(dest / "data.mdb.partial"));
  }
}
