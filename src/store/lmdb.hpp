// A small RAII layer over the LMDB C API, in the spirit of lmdbxx: move-only
// handles for MDB_env, MDB_txn and MDB_cursor, a value type for MDB_dbi, and
// one typed exception for every failing call (call name + mdb_strerror).
// Values are byte strings viewed as std::string_view; views returned by get()
// point into the memory map and stay valid until the transaction ends.
#pragma once

#include <lmdb.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "store/map_lock.hpp"

namespace recsys::store {

class LmdbError : public std::runtime_error {
 public:
  LmdbError(const char* call, int code);
  // The same error with a longer explanation (`message` is the whole text).
  LmdbError(int code, const std::string& message);
  int code() const { return code_; }

 private:
  int code_;
};

// MDB_MAP_FULL: the caller may grow the map and retry the transaction.
class MapFullError : public LmdbError {
 public:
  using LmdbError::LmdbError;
};

// mdb_txn_commit failed for another reason than MDB_MAP_FULL (an I/O error, a
// full disk): what was written is not stored, and the environment may refuse
// further writes.
class CommitError : public LmdbError {
 public:
  using LmdbError::LmdbError;
};

[[noreturn]] void throw_lmdb_error(const char* call, int rc);
inline void check(const char* call, int rc) {
  if (rc != MDB_SUCCESS) throw_lmdb_error(call, rc);
}

inline MDB_val to_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
inline std::string_view to_view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}
// The bytes of a trivially copyable value (integer keys, packed records).
template <typename T>
std::string_view bytes_of(const T& v) {
  return {reinterpret_cast<const char*>(&v), sizeof(T)};
}
// Reads a trivially copyable value from bytes that may be unaligned.
template <typename T>
T load(std::string_view bytes) {
  if (bytes.size() != sizeof(T)) throw std::runtime_error("stored value has the wrong size");
  T v;
  std::memcpy(&v, bytes.data(), sizeof(T));
  return v;
}

class Env {
 public:
  Env() = default;
  explicit Env(MDB_env* env) : env_(env) {}
  ~Env();
  Env(Env&& o) noexcept : env_(o.env_) { o.env_ = nullptr; }
  Env& operator=(Env&& o) noexcept;
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  struct Options {
    unsigned int flags = 0;          // MDB_RDONLY, MDB_NOSUBDIR, MDB_NOTLS, ...
    std::size_t map_size = 0;        // 0: keep LMDB's or the file's
    unsigned int max_dbs = 32;
    unsigned int max_readers = 1024;
    mdb_mode_t mode = 0644;
  };
  static Env open(const std::string& path, const Options& options);

  MDB_env* handle() const { return env_; }
  std::size_t map_size() const;
  // Only valid while this process has no transaction open: go through
  // Database, which takes the map lock exclusively (store/map_lock.hpp).
  void set_map_size(std::size_t bytes);
  MDB_stat stat() const;
  MDB_envinfo info() const;
  // The reader table, shared by every process that has the environment open
  // (mdb_reader_list; read without a lock, so a snapshot of a moving table):
  // the read transactions open now, and the write transactions committed
  // since the snapshot of the oldest of them (0 when none is open). A slot
  // whose transaction is reset (a server worker between batches) counts as
  // not open: it pins no page.
  struct Readers {
    unsigned open = 0;
    std::uint64_t oldest_lag = 0;
  };
  Readers readers() const;
  unsigned int flags() const;
  std::string path() const;
  // Consistent hot copy written to an open file (the caller creates it, with the
  // mode it needs: mdb_env_copy2 would create it with 0666 minus the umask).
  void copy_to_fd(int fd, bool compact) const;
  void sync(bool force);

 private:
  MDB_env* env_ = nullptr;
};

// An exclusive flock(2) on a file of its own open file description (so two
// threads of one process exclude each other too), released on destruction.
// FileLock's wait given up: the lock is not held, nothing was written.
class LockWaitAbandoned : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FileLock {
 public:
  FileLock() = default;
  // Waits for the lock (flock blocks until it is released); throws
  // std::system_error when the file cannot be opened.
  explicit FileLock(const std::string& path);
  // Waits for the lock while keep_waiting() says so (asked every few
  // milliseconds while another holds it), else throws LockWaitAbandoned.
  FileLock(const std::string& path, const std::function<bool()>& keep_waiting);
  ~FileLock() { release(); }
  FileLock(FileLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  FileLock& operator=(FileLock&& o) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  void release() noexcept;

 private:
  int fd_ = -1;
};

// A transaction, and the shared hold on its environment's map lock while it is
// live (attached by store::Database; see store/map_lock.hpp): commit, abort
// and reset release the hold with the snapshot. A write transaction also keeps
// the writers' file lock (Database::begin_write_txn), released after it ends.
class Txn {
 public:
  Txn() = default;
  ~Txn();
  Txn(Txn&& o) noexcept : txn_(o.txn_), hold_(std::move(o.hold_)), writer_(std::move(o.writer_)) { o.txn_ = nullptr; }
  Txn& operator=(Txn&& o) noexcept;
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  static Txn begin(MDB_env* env, unsigned int flags = 0, MDB_txn* parent = nullptr);

  MDB_txn* handle() const { return txn_; }
  explicit operator bool() const { return txn_ != nullptr; }
  void commit();
  void abort() noexcept;
  // Read-only transactions: release the snapshot (and the map hold) but keep
  // the reader slot.
  void reset() noexcept;
  void renew();
  // Keeps `hold` until the transaction ends or is reset.
  void attach(MapLock::Hold hold) { hold_ = std::move(hold); }
  // Keeps the writers' lock until the transaction commits or aborts.
  void attach(FileLock writer) { writer_ = std::move(writer); }

 private:
  MDB_txn* txn_ = nullptr;
  MapLock::Hold hold_;  // released after the LMDB call that ends the snapshot
  FileLock writer_;     // released last
};

class Dbi {
 public:
  Dbi() = default;
  explicit Dbi(MDB_dbi dbi) : dbi_(dbi) {}
  static Dbi open(const Txn& txn, const char* name, unsigned int flags = 0);
  // A table an older database lacks, opened read-only: reads find nothing
  // (get: nullopt, stat: empty, a cursor: no entries); writes throw.
  static Dbi absent();
  bool present() const { return !absent_; }

  // Throws std::logic_error on an absent table (its handle would be LMDB's free list).
  MDB_dbi handle() const {
    if (absent_) require_present("handle");
    return dbi_;
  }
  std::optional<std::string_view> get(const Txn& txn, std::string_view key) const;
  // Returns false when MDB_NOOVERWRITE is given and the key exists.
  bool put(const Txn& txn, std::string_view key, std::string_view value, unsigned int flags = 0) const;
  // Reserves `size` bytes for the value and returns where to write them.
  char* reserve(const Txn& txn, std::string_view key, std::size_t size, unsigned int flags = 0) const;
  bool del(const Txn& txn, std::string_view key) const;
  // Removes every entry (keeps the database).
  void clear(const Txn& txn) const;
  MDB_stat stat(const Txn& txn) const;
  std::size_t size(const Txn& txn) const { return stat(txn).ms_entries; }

 private:
  void require_present(const char* call) const;

  MDB_dbi dbi_ = 0;
  bool absent_ = false;
};

// A cursor must be destroyed (or close()d) before its transaction commits or
// aborts: LMDB frees write-transaction cursors itself at that point.
class Cursor {
 public:
  Cursor() = default;
  ~Cursor();
  Cursor(Cursor&& o) noexcept : cur_(o.cur_) { o.cur_ = nullptr; }
  Cursor& operator=(Cursor&& o) noexcept;
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;

  // On an absent table (Dbi::absent) the cursor finds no entries.
  static Cursor open(const Txn& txn, const Dbi& dbi);

  // Positions with `op` (MDB_FIRST, MDB_NEXT, MDB_SET_RANGE, ...); false at the end.
  bool get(std::string_view& key, std::string_view& value, MDB_cursor_op op);
  void put(std::string_view key, std::string_view value, unsigned int flags = 0);
  void del();
  void close() noexcept;

 private:
  MDB_cursor* cur_ = nullptr;
};

}  // namespace recsys::store
