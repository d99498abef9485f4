#include "store/lmdb.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

namespace recsys::store {

LmdbError::LmdbError(const char* call, int code)
    : std::runtime_error(std::string(call) + ": " + mdb_strerror(code)), code_(code) {}

LmdbError::LmdbError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}

void throw_lmdb_error(const char* call, int rc) {
  if (rc == MDB_MAP_FULL) throw MapFullError(call, rc);
  throw LmdbError(call, rc);
}

// ---- Env ----

Env::~Env() {
  if (env_) mdb_env_close(env_);
}

Env& Env::operator=(Env&& o) noexcept {
  if (this != &o) {
    if (env_) mdb_env_close(env_);
    env_ = o.env_;
    o.env_ = nullptr;
  }
  return *this;
}

Env Env::open(const std::string& path, const Options& options) {
  MDB_env* raw = nullptr;
  check("mdb_env_create", mdb_env_create(&raw));
  Env env(raw);
  check("mdb_env_set_maxdbs", mdb_env_set_maxdbs(raw, options.max_dbs));
  check("mdb_env_set_maxreaders", mdb_env_set_maxreaders(raw, options.max_readers));
  if (options.map_size > 0) check("mdb_env_set_mapsize", mdb_env_set_mapsize(raw, options.map_size));
  int rc = mdb_env_open(raw, path.c_str(), options.flags, options.mode);
  if (rc != MDB_SUCCESS) {
    throw LmdbError(("mdb_env_open(" + path + ")").c_str(), rc);
  }
  return env;
}

std::size_t Env::map_size() const { return info().me_mapsize; }

void Env::set_map_size(std::size_t bytes) {
  check("mdb_env_set_mapsize", mdb_env_set_mapsize(env_, bytes));
}

MDB_stat Env::stat() const {
  MDB_stat st;
  check("mdb_env_stat", mdb_env_stat(env_, &st));
  return st;
}

MDB_envinfo Env::info() const {
  MDB_envinfo in;
  check("mdb_env_info", mdb_env_info(env_, &in));
  return in;
}

Env::Readers Env::readers() const {
  // One line per slot in use: "%10d %zx %s\n" (pid, thread, txnid or "-"
  // when reset), after a header line; "(no active readers)" when none.
  struct Scan {
    unsigned open = 0;
    std::optional<std::uint64_t> oldest;
  } scan;
  auto line = [](const char* msg, void* ctx) -> int {
    auto& r = *static_cast<Scan*>(ctx);
    int pid = 0;
    std::size_t thread = 0;
    char txn[32] = {};
    if (std::sscanf(msg, "%d %zx %31s", &pid, &thread, txn) != 3 || pid <= 0) return 0;
    std::uint64_t id = 0;
    const auto end = txn + std::strlen(txn);
    if (auto [p, ec] = std::from_chars(txn, end, id); ec != std::errc() || p != end) return 0;  // "-": reset
    ++r.open;
    if (!r.oldest || id < *r.oldest) r.oldest = id;
    return 0;
  };
  check("mdb_reader_list", mdb_reader_list(env_, line, &scan));
  const std::uint64_t last = info().me_last_txnid;
  Readers out;
  out.open = scan.open;
  if (scan.oldest && *scan.oldest < last) out.oldest_lag = last - *scan.oldest;
  return out;
}

unsigned int Env::flags() const {
  unsigned int f = 0;
  check("mdb_env_get_flags", mdb_env_get_flags(env_, &f));
  return f;
}

std::string Env::path() const {
  const char* p = nullptr;
  check("mdb_env_get_path", mdb_env_get_path(env_, &p));
  return p ? p : "";
}

void Env::copy_to_fd(int fd, bool compact) const {
  check("mdb_env_copyfd2", mdb_env_copyfd2(env_, fd, compact ? MDB_CP_COMPACT : 0));
}

void Env::sync(bool force) { check("mdb_env_sync", mdb_env_sync(env_, force ? 1 : 0)); }

// ---- Txn ----

namespace {

int open_to_lock(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + path + " to lock it");
  return fd;
}

}  // namespace

FileLock::FileLock(const std::string& path) : fd_(open_to_lock(path)) {
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    const int error = errno;
    release();
    throw std::system_error(error, std::generic_category(), "cannot lock " + path);
  }
}

FileLock::FileLock(const std::string& path, const std::function<bool()>& keep_waiting) : fd_(open_to_lock(path)) {
  // flock(2) cannot wait with a time-out: try, then sleep 1, 2, 4, 8 ms
  // between tries, so a lock released is taken within 8 ms (unless a blocked
  // waiter, woken at the release, takes it first).
  auto pause = std::chrono::milliseconds(1);
  try {
    while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      if (error == EINTR) continue;
      if (error != EWOULDBLOCK) throw std::system_error(error, std::generic_category(), "cannot lock " + path);
      if (!keep_waiting()) {
        throw LockWaitAbandoned("another process is writing to the database (its write lock on " + path +
                                " is held)");
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(8));
    }
  } catch (...) {
    release();
    throw;
  }
}

FileLock& FileLock::operator=(FileLock&& o) noexcept {
  if (this != &o) {
    release();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

void FileLock::release() noexcept {
  if (fd_ >= 0) ::close(fd_);  // closing the description releases its flock
  fd_ = -1;
}

Txn::~Txn() { abort(); }

Txn& Txn::operator=(Txn&& o) noexcept {
  if (this != &o) {
    abort();
    txn_ = o.txn_;
    hold_ = std::move(o.hold_);
    writer_ = std::move(o.writer_);
    o.txn_ = nullptr;
  }
  return *this;
}

Txn Txn::begin(MDB_env* env, unsigned int flags, MDB_txn* parent) {
  Txn t;
  check("mdb_txn_begin", mdb_txn_begin(env, parent, flags, &t.txn_));
  return t;
}

void Txn::commit() {
  MDB_txn* t = txn_;
  txn_ = nullptr;  // mdb_txn_commit frees the handle even when it fails
  int rc = mdb_txn_commit(t);
  hold_.release();
  writer_.release();
  if (rc == MDB_MAP_FULL) throw MapFullError("mdb_txn_commit", rc);
  if (rc != MDB_SUCCESS) throw CommitError("mdb_txn_commit", rc);
}

void Txn::abort() noexcept {
  if (txn_) {
    mdb_txn_abort(txn_);
    txn_ = nullptr;
  }
  hold_.release();
  writer_.release();
}

void Txn::reset() noexcept {
  if (txn_) mdb_txn_reset(txn_);
  hold_.release();
}

void Txn::renew() { check("mdb_txn_renew", mdb_txn_renew(txn_)); }

// ---- Dbi ----

Dbi Dbi::open(const Txn& txn, const char* name, unsigned int flags) {
  MDB_dbi dbi = 0;
  int rc = mdb_dbi_open(txn.handle(), name, flags, &dbi);
  if (rc != MDB_SUCCESS) throw LmdbError((std::string("mdb_dbi_open(") + (name ? name : "") + ")").c_str(), rc);
  return Dbi(dbi);
}

Dbi Dbi::absent() {
  Dbi d;
  d.absent_ = true;
  return d;
}

void Dbi::require_present(const char* call) const {
  if (absent_) throw std::logic_error(std::string(call) + " on a table this database does not have");
}

std::optional<std::string_view> Dbi::get(const Txn& txn, std::string_view key) const {
  if (absent_) return std::nullopt;
  // A key LMDB cannot store (empty, or over its key size) is not there:
  // `similar ''` failed with mdb_get's MDB_BAD_VALSIZE.
  if (key.empty() || key.size() > static_cast<std::size_t>(mdb_env_get_maxkeysize(mdb_txn_env(txn.handle())))) {
    return std::nullopt;
  }
  MDB_val k = to_val(key);
  MDB_val v{0, nullptr};
  int rc = mdb_get(txn.handle(), dbi_, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check("mdb_get", rc);
  return to_view(v);
}

bool Dbi::put(const Txn& txn, std::string_view key, std::string_view value, unsigned int flags) const {
  require_present("put");
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  int rc = mdb_put(txn.handle(), dbi_, &k, &v, flags);
  if (rc == MDB_KEYEXIST && (flags & (MDB_NOOVERWRITE | MDB_NODUPDATA))) return false;
  check("mdb_put", rc);
  return true;
}

char* Dbi::reserve(const Txn& txn, std::string_view key, std::size_t size, unsigned int flags) const {
  require_present("reserve");
  MDB_val k = to_val(key);
  MDB_val v{size, nullptr};
  check("mdb_put(MDB_RESERVE)", mdb_put(txn.handle(), dbi_, &k, &v, flags | MDB_RESERVE));
  return static_cast<char*>(v.mv_data);
}

bool Dbi::del(const Txn& txn, std::string_view key) const {
  require_present("del");
  MDB_val k = to_val(key);
  int rc = mdb_del(txn.handle(), dbi_, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  check("mdb_del", rc);
  return true;
}

void Dbi::clear(const Txn& txn) const {
  require_present("clear");
  check("mdb_drop", mdb_drop(txn.handle(), dbi_, 0));
}

MDB_stat Dbi::stat(const Txn& txn) const {
  MDB_stat st{};
  if (absent_) return st;
  check("mdb_stat", mdb_stat(txn.handle(), dbi_, &st));
  return st;
}

// ---- Cursor ----

Cursor::~Cursor() { close(); }

Cursor& Cursor::operator=(Cursor&& o) noexcept {
  if (this != &o) {
    close();
    cur_ = o.cur_;
    o.cur_ = nullptr;
  }
  return *this;
}

Cursor Cursor::open(const Txn& txn, const Dbi& dbi) {
  Cursor c;
  if (!dbi.present()) return c;  // cur_ null: get() finds nothing
  check("mdb_cursor_open", mdb_cursor_open(txn.handle(), dbi.handle(), &c.cur_));
  return c;
}

bool Cursor::get(std::string_view& key, std::string_view& value, MDB_cursor_op op) {
  if (!cur_) return false;  // a cursor on an absent table
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  int rc = mdb_cursor_get(cur_, &k, &v, op);
  if (rc == MDB_NOTFOUND) return false;
  check("mdb_cursor_get", rc);
  key = to_view(k);
  value = to_view(v);
  return true;
}

void Cursor::put(std::string_view key, std::string_view value, unsigned int flags) {
  if (!cur_) throw std::logic_error("put through a cursor on a table this database does not have");
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  check("mdb_cursor_put", mdb_cursor_put(cur_, &k, &v, flags));
}

void Cursor::del() {
  if (!cur_) throw std::logic_error("del through a cursor on a table this database does not have");
  check("mdb_cursor_del", mdb_cursor_del(cur_, 0));
}

void Cursor::close() noexcept {
  if (cur_) {
    mdb_cursor_close(cur_);
    cur_ = nullptr;
  }
}

}  // namespace recsys::store
