// Read-only use of a database (a replica, a user without write access) and the
// modes of new database files. Runs the real binary; as root, the commands that
// must lack write access run as user nobody (root ignores file modes).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <regex>
#include <thread>

#include "../http/client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

using namespace recsys::test;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

const std::string kRatings =
    "user,item,rating\nu1,i1,5\nu1,i2,3\nu2,i1,4\nu2,i3,2\nu3,i2,1\nu3,i3,5\nu4,i1,2\nu4,i4,4\n";

std::vector<std::string> unprivileged(std::vector<std::string> args) {
  std::vector<std::string> argv;
  if (::geteuid() == 0) argv = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"};
  argv.push_back(recsys_bin());
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

RunResult run_unprivileged(const std::vector<std::string>& args, const TempDir& dir) {
  Process p(unprivileged(args), dir.path());
  return p.wait();
}

// A trained, precomputed database whose files everyone may read and only the owner may write.
struct ReadableDb {
  TempDir dir;
  std::string db = (dir / "db").string();
  ReadableDb() {
    auto csv = dir.write("r.csv", kRatings);
    for (std::vector<std::string> args : {std::vector<std::string>{"import", csv.string()},
                                          {"train", "--factors", "2", "--iterations", "1", "--split", "none"},
                                          {"precompute"}}) {
      args.insert(args.begin(), {"--db", db, "--log-level", "warn", "--threads", "1"});
      REQUIRE(run_recsys(args, dir).status == 0);
    }
    fs::permissions(dir.path(), fs::perms(0755));
    fs::permissions(db, fs::perms(0755));
    fs::permissions(dir / "db" / "data.mdb", fs::perms(0644));
    fs::permissions(dir / "db" / "lock.mdb", fs::perms(0644));
  }
  void make_replica() const { fs::permissions(dir / "db" / "data.mdb", fs::perms(0444)); }
};

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("new database files and their directory are not readable by others") {
  TempDir dir;
  auto csv = dir.write("r.csv", kRatings);
  auto db = dir / "new.db";
  REQUIRE(run_recsys({"--db", db.string(), "import", csv.string()}, dir).status == 0);
  for (const auto& p : {db, db / "data.mdb", db / "lock.mdb"}) {
    INFO(p.string() << " mode " << std::oct << mode_of(p));
    REQUIRE((mode_of(p) & 07) == 0);
  }
}

TEST_CASE("backup creates its copy with the modes of a new database, not readable by others") {
  TempDir dir;
  auto csv = dir.write("r.csv", kRatings);
  auto db = (dir / "db").string();
  REQUIRE(run_recsys({"--db", db, "import", csv.string()}, dir).status == 0);
  const mode_t old_umask = ::umask(022);  // the usual umask, which left copies readable by everyone
  auto copy = dir / "copy.db";
  auto backup = run_recsys({"--db", db, "backup", copy.string()}, dir);
  fs::create_directory(dir / "empty");
  fs::permissions(dir / "empty", fs::perms(0700));
  auto into_empty = run_recsys({"--db", db, "backup", (dir / "empty").string()}, dir);
  ::umask(old_umask);
  INFO(backup.err << into_empty.err);
  REQUIRE(backup.status == 0);
  REQUIRE(into_empty.status == 0);
  REQUIRE(mode_of(copy) == 0750);
  REQUIRE(mode_of(copy / "data.mdb") == 0640);
  // An empty directory the user made keeps its mode; the data file gets 0640.
  REQUIRE(mode_of(dir / "empty") == 0700);
  REQUIRE(mode_of(dir / "empty" / "data.mdb") == 0640);
  REQUIRE(run_recsys({"--db", copy.string(), "info"}, dir).status == 0);
}

TEST_CASE("info, recommend and check read a database nobody may write, without its lock file") {
  ReadableDb d;
  // The owner may still write: reading without the lock table would be unsafe, and the error says what to do.
  auto locked = run_unprivileged({"--db", d.db, "info"}, d.dir);
  REQUIRE(locked.status == 1);
  REQUIRE_THAT(locked.err, Contains("lock.mdb") && Contains("chmod a-w"));
  // A writing command says the same, not that reading would work (it would not, yet).
  auto refused = run_unprivileged({"--db", d.db, "precompute"}, d.dir);
  REQUIRE(refused.status == 1);
  REQUIRE_THAT(refused.err, Contains("for writing") && Contains("reading needs write access to its lock file"));

  d.make_replica();
  auto info = run_unprivileged({"--db", d.db, "info", "--json"}, d.dir);
  INFO(info.err);
  REQUIRE(info.status == 0);
  REQUIRE_THAT(info.out, Contains("\"users\":4"));
  auto rec = run_unprivileged({"--db", d.db, "recommend", "u1", "--json"}, d.dir);
  INFO(rec.err);
  REQUIRE(rec.status == 0);
  REQUIRE_THAT(rec.out, Contains("\"user\":\"u1\"") && Contains("\"model\":1"));
  // check opens its own environment for the LMDB pass: it reads without locks too.
  auto check = run_unprivileged({"--db", d.db, "check"}, d.dir);
  INFO(check.out << check.err);
  REQUIRE(check.status == 0);
  REQUIRE_THAT(check.out, Contains("ok"));
  // Writing commands are refused with a clear message.
  auto write = run_unprivileged({"--db", d.db, "precompute"}, d.dir);
  REQUIRE(write.status == 1);
  REQUIRE_THAT(write.err, Contains("for writing") && Contains("read-only for everyone"));
}

// A backup restored as root for a service user: serve said "filesystem error:
// status: Permission denied [.../data.mdb]", naming neither the owner nor the fix.
TEST_CASE("a database whose files another user owns is refused with the owner, the user and the chown to make") {
  if (::geteuid() != 0) {
    WARN("skipped: needs root to own files that the test's other user may not read");
    return;
  }
  ReadableDb d;
  fs::permissions(d.db, fs::perms(0750));  // a directory as backup makes it, owned by root
  for (const auto& command : {std::vector<std::string>{"--db", d.db, "info"}, {"--db", d.db, "serve", "--port", "0"}}) {
    auto r = run_unprivileged(command, d.dir);
    INFO(command[2] << ": " << r.err);
    REQUIRE(r.status == 1);
    REQUIRE_THAT(r.err, Contains("permission denied entering " + d.db) && Contains("owned by root:root, mode 0750") &&
                            Contains("recsys runs as nobody") && Contains("chown -R"));
    REQUIRE_THAT(r.err, !Contains("filesystem error"));
  }
  // A user the permission checks let in by capability (a backup agent with
  // CAP_DAC_READ_SEARCH) opens it: the check asks stat, not access(), which
  // uses the real uid without capabilities and refused it.
  auto capable = Process({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                          "--inh-caps=+dac_read_search,+dac_override", "--ambient-caps=+dac_read_search,+dac_override",
                          "--", recsys_bin(), "--db", d.db, "info"},
                         d.dir.path())
                     .wait();
  INFO(capable.err);
  REQUIRE(capable.status == 0);
  fs::permissions(d.db, fs::perms(0755));
  fs::permissions(d.dir / "db" / "data.mdb", fs::perms(0640));
  auto r = run_unprivileged({"--db", d.db, "info"}, d.dir);
  INFO(r.err);
  REQUIRE(r.status == 1);
  REQUIRE_THAT(r.err, Contains("permission denied reading") && Contains("owned by root:root, mode 0640"));
  // A file of the user's own lacks a mode bit: chown would not help.
  REQUIRE(::chown((d.dir / "db" / "data.mdb").c_str(), 65534, 65534) == 0);
  fs::permissions(d.dir / "db" / "data.mdb", fs::perms(0200));
  auto own = run_unprivileged({"--db", d.db, "info"}, d.dir);
  INFO(own.err);
  REQUIRE(own.status == 1);
  REQUIRE_THAT(own.err, Contains("owned by nobody, the user recsys runs as, with mode 0200") && Contains("chmod") &&
                            !Contains("chown"));
}

TEST_CASE("serve on a read-only replica answers reads and refuses events with 503") {
  ReadableDb d;
  d.make_replica();
  Process p(unprivileged({"--db", d.db, "serve", "--port", "0", "--threads", "2"}), d.dir.path());
  std::regex listening("listening on [0-9.]+:([0-9]+)");
  std::smatch m;
  std::string err;
  for (int i = 0; i < 500 && !std::regex_search(err = p.current_stderr(), m, listening); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  INFO(err);
  REQUIRE(std::regex_search(err, m, listening));
  REQUIRE_THAT(err, Contains("serving read-only"));
  Connection c(std::stoi(m[1]));
  REQUIRE(c.get("/readyz").status == 200);
  auto r = c.get("/v1/users/u1/recommendations");
  REQUIRE(r.status == 200);
  REQUIRE_THAT(r.body, Contains("\"model\":1"));
  auto event = c.request("POST", "/v1/events", R"({"user":"u1","item":"i4"})");
  REQUIRE(event.status == 503);
  REQUIRE_THAT(event.body, Contains("read_only"));
  p.signal(SIGTERM);
  auto done = p.wait_for(std::chrono::seconds(5));
  REQUIRE(done);
  REQUIRE(done->status == 0);
}

namespace {

// DIR bind-mounted read-only at DIR-ro for its lifetime; skipped (false) where
// the test may not mount (not root, or a container without the capability).
struct ReadOnlyMount {
  fs::path target;
  bool mounted = false;
  explicit ReadOnlyMount(const fs::path& source) : target(source.string() + "-ro") {
    if (::geteuid() != 0) return;
    fs::create_directories(target);
    const std::string bind = "mount --bind '" + source.string() + "' '" + target.string() + "' 2>/dev/null";
    if (std::system(bind.c_str()) != 0) return;
    mounted = true;
    const std::string ro = "mount -o remount,ro,bind '" + target.string() + "' 2>/dev/null";
    if (std::system(ro.c_str()) != 0) {
      std::system(("umount '" + target.string() + "'").c_str());
      mounted = false;
    }
  }
  // Whether the test must be skipped, with a warning saying why.
  bool skipped() const {
    if (!mounted) WARN("skipped: cannot bind-mount read-only here (needs root and CAP_SYS_ADMIN)");
    return !mounted;
  }
  ~ReadOnlyMount() {
    if (mounted) std::system(("umount '" + target.string() + "'").c_str());
    std::error_code ec;
    fs::remove(target, ec);
  }
};

}  // namespace

TEST_CASE("serve on a read-only file system answers reads and refuses events with 503") {
  ReadableDb d;
  ReadOnlyMount mount(d.dir / "db");
  if (mount.skipped()) return;
  const std::string db = mount.target.string();
  // Before: "mdb_env_open: Read-only file system", and serve did not start.
  Process p({recsys_bin(), "--db", db, "serve", "--port", "0", "--threads", "1"}, d.dir.path());
  std::regex listening("listening on [0-9.]+:([0-9]+)");
  std::smatch m;
  std::string err;
  for (int i = 0; i < 500 && !std::regex_search(err = p.current_stderr(), m, listening); ++i) {
    if (p.wait_for(std::chrono::milliseconds(10))) break;
  }
  INFO(err);
  REQUIRE(std::regex_search(err, m, listening));
  REQUIRE_THAT(err, Contains("read-only file system") && Contains("serving read-only"));
  Connection c(std::stoi(m[1]));
  REQUIRE(c.get("/v1/users/u1/recommendations").status == 200);
  REQUIRE(c.request("POST", "/v1/events", R"({"user":"u1","item":"i4"})").status == 503);
  p.signal(SIGTERM);
  auto done = p.wait_for(std::chrono::seconds(5));
  REQUIRE(done);
  REQUIRE(done->status == 0);
  // Writing commands name the cause.
  auto write = run_recsys({"--db", db, "precompute"}, d.dir);
  REQUIRE(write.status == 1);
  REQUIRE_THAT(write.err, Contains("read-only file system"));
}

TEST_CASE("a read-only mount of a database a process has open through its writable path is not read without locks") {
  ReadableDb d;
  ReadOnlyMount mount(d.dir / "db");
  if (mount.skipped()) return;
  const std::string db = mount.target.string();
  Process server({recsys_bin(), "--db", d.db, "serve", "--port", "0", "--threads", "1"}, d.dir.path());
  for (int i = 0; i < 500 && !Contains("listening on").match(server.current_stderr()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE_THAT(server.current_stderr(), Contains("listening on"));
  // Before: read without a lock table beside a writer, check found "damaged
  // pages" in a sound database (80 of 120 runs while events were written).
  auto check = run_recsys({"--db", db, "check"}, d.dir);
  REQUIRE(check.status == 1);
  REQUIRE_THAT(check.err, Contains("read-only file system") && Contains("another process has it open"));
  auto info = run_recsys({"--db", db, "info"}, d.dir);
  REQUIRE(info.status == 1);
  server.signal(SIGTERM);
  REQUIRE(server.wait_for(std::chrono::seconds(5)));
  // Nobody has it open: read without locks, as on any read-only medium.
  check = run_recsys({"--db", db, "check"}, d.dir);
  INFO(check.err);
  REQUIRE(check.status == 0);
}

TEST_CASE("a data file nobody may write is not written by root either; it is served read-only") {
  if (::geteuid() != 0) {
    WARN("skipped: only root may write a file without write bits");
    return;
  }
  ReadableDb d;
  d.make_replica();
  // Readers who cannot write the lock file read such a file without locks: a
  // root writer beside them made check report damaged pages in a sound file.
  auto import = run_recsys({"--db", d.db, "import", "--append", d.dir.write("more.csv", "user,item\nu9,i1\n").string()},
                           d.dir);
  REQUIRE(import.status == 1);
  REQUIRE_THAT(import.err, Contains("read-only for everyone (mode 0444)") && Contains("chmod u+w"));
  Process server({recsys_bin(), "--db", d.db, "serve", "--port", "0", "--threads", "1"}, d.dir.path());
  for (int i = 0; i < 500 && !Contains("listening on").match(server.current_stderr()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE_THAT(server.current_stderr(), Contains("listening on") && Contains("serving read-only"));
  auto check = run_unprivileged({"--db", d.db, "check"}, d.dir);
  INFO(check.err);
  REQUIRE(check.status == 0);
  server.signal(SIGTERM);
  REQUIRE(server.wait_for(std::chrono::seconds(5)));
  auto info = run_recsys({"--db", d.db, "info", "--json"}, d.dir);
  REQUIRE_THAT(info.out, Contains("\"users\":4,"));  // u9 was not added
}
