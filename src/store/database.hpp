// The recsys LMDB environment and its schema: one environment (directory, or
// file with MDB_NOSUBDIR) holding named databases. Layout and key formats are
// described in docs/storage.md; every module of src/store reads and writes
// through the Dbi handles below.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "store/lmdb.hpp"

namespace recsys::store {

// Bump when a stored format changes so that an older recsys would misread or
// mis-write it; checked on every open (docs/storage.md, "Schema versions").
// 2: the candidates table, meta fallback_order, EASE generations, item
//    metadata in lists; version 1 binaries wrote lists without keeping
//    candidates current. A read-write open upgrades a version-1 database in
//    place (so version-1 binaries refuse it from then on); a read-only open
//    reads it as it is (tables it lacks read as empty).
inline constexpr std::uint32_t kSchemaVersion = 2;
inline constexpr std::uint32_t kOldestReadableSchema = 1;
inline constexpr std::size_t kDefaultMapSize = std::size_t{1} << 30;

enum class OpenMode {
  // The database must exist. Works without write access to it when either the
  // lock file (lock.mdb) is writable, or the data file is read-only for everyone
  // (nobody can write it, so no lock table is needed: MDB_NOLOCK), or the file
  // system is mounted read-only. See docs/storage.md "Read-only use".
  ReadOnly,
  ReadWrite,  // the database must exist
  Create,     // read-write, created when missing
};

// Files and directories a new database gets: no access for others.
inline constexpr unsigned kDbFileMode = 0640;
inline constexpr unsigned kDbDirMode = 0750;

// Opening failed for lack of permission (EACCES); the message says what to do.
class PermissionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct OpenOptions {
  std::filesystem::path path = "recsys.db";
  OpenMode mode = OpenMode::ReadOnly;
  // Map size at open (--map-size): this, or twice the data file when that is
  // larger; the map grows on MDB_MAP_FULL. Read-only opens use the file's.
  std::size_t initial_map_size = kDefaultMapSize;
};

// Named databases (see docs/storage.md for key and value formats).
struct Tables {
  Dbi meta;          // string key -> value (schema_version, serving_model, ...)
  Dbi user_ids;      // external user id -> u32 index
  Dbi user_keys;     // u32 index (MDB_INTEGERKEY) -> external user id
  Dbi item_ids;      // external item id -> u32 index
  Dbi item_keys;     // u32 index (MDB_INTEGERKEY) -> external item id
  Dbi ratings;       // u32 user (MDB_INTEGERKEY) -> packed RatingRecord[] sorted by item
  Dbi models;        // u32 generation (MDB_INTEGERKEY) -> model description (JSON)
  Dbi factors;       // (u32 BE generation, u8 side, u32 BE row) -> float[factors]
  Dbi user_recs;     // external user id -> recommendation list (ready-to-send items)
  Dbi item_similar;  // external item id -> similar-items list
  Dbi popularity;    // list name -> fallback list
  Dbi item_meta;     // external item id -> metadata (title, ...) as JSON
  Dbi candidates;    // "u"/"s" + external id -> deeper candidates for filters (store/candidates.hpp)
};

class Database {
 public:
  static Database open(const OpenOptions& options);

  Database(Database&&) noexcept;
  Database& operator=(Database&&) noexcept;
  ~Database();

  Env& env() { return *env_; }
  const Env& env() const { return *env_; }
  const Tables& tables() const { return tables_; }
  const std::filesystem::path& path() const { return path_; }
  // The LMDB data file: DIR/data.mdb, or the path of a single-file database.
  const std::filesystem::path& data_file() const { return data_file_; }
  bool read_only() const { return read_only_; }
  // Whether open() created the database directory (OpenMode::Create on a missing path).
  bool created() const { return created_; }
  // Whether open() created the data file (a new directory, or an existing one without data.mdb).
  bool created_data() const { return created_data_; }

  // A read-only snapshot, holding the map lock shared while it is live.
  // Handles MDB_MAP_RESIZED (another process grew the map) by adopting the
  // new size once no transaction of this process is live.
  Txn begin_read();
  // Renews a reset read transaction (a server worker's reused snapshot) the
  // same way; Txn::reset() releases it again.
  void renew(Txn& txn);

  // Runs fn(txn) in a write transaction and commits it. When the map is full the
  // transaction is aborted, the map doubled, and fn run again from the start, so fn
  // must only depend on its inputs and the transaction. With keep_waiting, the
  // wait for another writer's lock (another process's transaction) ends with
  // LockWaitAbandoned, before fn runs, when it returns false (FileLock).
  template <typename Fn>
  auto write(Fn&& fn, const std::function<bool()>& keep_waiting = {}) {
    for (;;) {
      try {
        Txn txn = begin_write_txn(keep_waiting);
        if constexpr (std::is_void_v<decltype(fn(txn))>) {
          fn(txn);
          txn.commit();
          return;
        } else {
          auto result = fn(txn);
          txn.commit();
          return result;
        }
      } catch (const MapFullError&) {
        grow_map();
      } catch (const CommitError& e) {
        throw CommitError(e.code(), e.what() + space_note(e.code()));
      }
    }
  }

  // The map lock every transaction of this process holds shared while live;
  // resizes take it exclusively (protocol: store/map_lock.hpp).
  MapLock& map_lock() { return *map_lock_; }

  // Frees reader slots of processes that died without ending their
  // transaction (mdb_reader_check): a stale slot pins old pages, so the file
  // grows instead of reusing them. Returns the number of slots freed.
  int clear_stale_readers();

  // meta helpers
  std::optional<std::uint32_t> meta_u32(const Txn& txn, std::string_view key) const;
  void put_meta_u32(const Txn& txn, std::string_view key, std::uint32_t value) const;
  std::optional<std::string> meta_string(const Txn& txn, std::string_view key) const;
  void put_meta_string(const Txn& txn, std::string_view key, std::string_view value) const;

  // Size of the data file in bytes.
  std::uintmax_t file_size() const;

  // Pages of the snapshot `txn` reads, in bytes: what its trees use (every
  // table, the main and free-list trees, the two meta pages), the factors
  // table alone, and the file's used length (up to the last page). The rest
  // of that length is free pages LMDB reuses for later writes; only a copy
  // (recsys backup) gives the space back to the file system.
  // Whether the data file cannot grow: its file system has less than 64 MiB
  // free, or it has reached the process's file-size limit.
  bool out_of_space() const;

  struct SpaceUse {
    std::uint64_t used_bytes = 0;
    std::uint64_t factor_bytes = 0;
    std::uint64_t end_bytes = 0;
  };
  SpaceUse space_use(const Txn& txn) const;

 private:
  Database() = default;
  Txn begin_write_txn(const std::function<bool()>& keep_waiting);
  Txn begin_txn(unsigned int flags);
  void adopt_map_size();
  void grow_map();
  // For a failed commit: LMDB reports a short write (a full disk) as EIO, so
  // EIO and ENOSPC get the free space of the file system holding the data file
  // and what it suggests. Empty for other errors.
  std::string space_note(int code) const;

  void open_tables(bool create);

  std::unique_ptr<Env> env_;
  // Owned here, shared by every thread of the process that uses this
  // environment; its address is stable (Txns point to it) when Database moves.
  std::unique_ptr<MapLock> map_lock_;
  Tables tables_;
  std::filesystem::path path_;
  std::filesystem::path data_file_;
  bool read_only_ = true;
  bool created_ = false;
  bool created_data_ = false;
  std::uint32_t upgraded_from_ = 0;  // the schema version this open upgraded (0: none)
};

// Opens the LMDB environment at `path` with `options` (MDB_NOSUBDIR set for a
// single-file database). Read-only (MDB_RDONLY) on a data file nobody may write,
// when the lock file is out of reach, it reads without locks (MDB_NOLOCK: no
// writer can exist). Permission and version failures throw with the remedy;
// `mode` is what the caller asked for, for the message.
Env open_env(const std::filesystem::path& path, Env::Options options, OpenMode mode);

// The one path LMDB is given for the database at `path`: symbolic links
// resolved (a dangling one to its target, where the database is created),
// absolute and normal. A single file's lock is named after the path it is
// opened by, so two spellings would give one database two lock tables.
std::filesystem::path resolve_db_path(const std::filesystem::path& path);

// Whether another process has the database at `path` open now: it holds
// LMDB's fcntl lock on the lock file for as long as it does. A snapshot (it
// may be opened right after). Call it only when this process has no
// environment open on `path`: the probe's close would drop this process's
// own fcntl locks on the lock file.
bool in_use_by_another_process(const std::filesystem::path& path);

// Path from --db / RECSYS_DB, default ./recsys.db.
std::filesystem::path default_db_path();

// Throws when `path` names a file inside a database directory (DIR/data.mdb or
// DIR/lock.mdb): LMDB would open that file as a database of its own with a
// second lock file, so two processes, one given DIR and one DIR/data.mdb,
// would each think they are the only writer and corrupt it.
void refuse_file_inside_database(const std::filesystem::path& path);

// Throws when an existing `path` can hold no database to map: neither a
// directory nor a regular file (/dev/null, a FIFO), or a data file of 0 bytes
// unless the command creates databases (`creating`: it starts one there).
void refuse_unmappable(const std::filesystem::path& path, bool creating);

// Throws when the database at `path` (resolved) could get a second lock table:
// its data file has more than one name (hard links), or `path` is a directory
// whose data.mdb another process has open as a single-file database (holding
// data.mdb-lock). Each lock table's writers would lose the other's commits.
void refuse_second_lock(const std::filesystem::path& path);

}  // namespace recsys::store
