#include "store/database.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>

#include "util/file.hpp"
#include "util/log.hpp"

namespace fs = std::filesystem;

namespace recsys::store {

namespace {
constexpr std::string_view kSchemaKey = "schema_version";
// MDB_MAP_RESIZED again right after adopting means other processes keep
// growing the map; give up after a few rounds rather than spin.
constexpr int kMaxResizeRetries = 8;

// Nobody may write the file (no w bit at all): no writer can exist, so readers
// need no lock table. Root ignores the bits, so recsys refuses to write such a
// file whoever runs it (open_env).
bool read_only_for_everyone(const fs::path& file) {
  std::error_code ec;
  auto perms = fs::status(file, ec).permissions();
  if (ec) return false;
  return (perms & (fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write)) == fs::perms::none;
}

fs::path lock_file(const fs::path& path, bool subdir) {
  return subdir ? path / "lock.mdb" : fs::path(path.string() + "-lock");
}

// "owned by root:root, mode 0750, and this process runs as nobody": what an
// operator needs after restoring files as root for a service user. A file of
// this user's own lacks a mode bit, or a security module refuses it.
std::string ownership_note(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return {};
  auto user = [](uid_t uid) {
    const passwd* pw = ::getpwuid(uid);
    return pw ? std::string(pw->pw_name) : std::to_string(uid);
  };
  auto group = [](gid_t gid) {
    const struct group* gr = ::getgrgid(gid);
    return gr ? std::string(gr->gr_name) : std::to_string(gid);
  };
  if (st.st_uid == ::geteuid()) {
    return fmt::format(" ({} is owned by {}, the user recsys runs as, with mode {:04o}: give the owner the permission "
                       "(chmod u+rwX), or look for a denial by AppArmor or SELinux)",
                       file.string(), user(st.st_uid), st.st_mode & 07777);
  }
  return fmt::format(" ({} is owned by {}:{}, mode {:04o}, and recsys runs as {}; files restored or copied as "
                     "another user must be given to the user that runs recsys: chown -R)",
                     file.string(), user(st.st_uid), group(st.st_gid), st.st_mode & 07777, user(::geteuid()));
}

[[noreturn]] void throw_permission(const fs::path& path, const fs::path& data_file, bool subdir, OpenMode mode) {
  const std::string p = path.string();
  if (::access(data_file.c_str(), R_OK) != 0) {
    throw PermissionError("cannot open database '" + p + "': permission denied reading " + data_file.string() +
                          ownership_note(data_file));
  }
  const fs::path lock = lock_file(path, subdir);
  if (mode != OpenMode::ReadOnly) {
    // Say that reading works only where it does: readers need the lock file
    // too, unless nobody may write the data.
    if (::access(lock.c_str(), W_OK) == 0 || read_only_for_everyone(data_file)) {
      throw PermissionError("cannot open database '" + p + "' for writing: permission denied (commands that only read, "
                            "such as info, recommend and serve, work on a database you may only read)");
    }
    throw PermissionError("cannot open database '" + p + "' for writing: permission denied (reading needs write access "
                          "to its lock file " + lock.string() + " too, or a copy nobody may write: recsys backup COPY, "
                          "then chmod a-w on COPY/data.mdb or the COPY file)");
  }
  throw PermissionError("cannot open database '" + p + "' read-only: LMDB readers must be able to write its lock file " +
                        lock.string() +
                        " while a writer may be active; get write access to the lock file, or read a copy that "
                        "nobody may write (recsys backup COPY, then chmod a-w on COPY/data.mdb or the COPY file)");
}

// LMDB sizes its lock file (the reader table) with ftruncate and writes it
// through a shared map: on a full disk the first write to a page that has no
// block raised SIGBUS, which read as a data file cut short (check advised
// restoring a backup of a sound database). Its blocks are reserved first, so
// that a full disk is an error at open. The size is LMDB 0.9's on 64-bit
// (mdb_env_setup_locks: a 192-byte header holding the first of the 64-byte
// reader slots); a larger file is reserved whole, as LMDB then uses all of it.
static_assert(MDB_VERSION_MAJOR == 0 && MDB_VERSION_MINOR == 9, "the lock file layout reserved is LMDB 0.9's");
void reserve_lock_file(const fs::path& lock, const Env::Options& options) {
  if (options.flags & MDB_NOLOCK) return;
  const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, options.mode);
  if (fd < 0) return;  // LMDB's own open says why (permission, a read-only file system)
  struct stat st {};
  off_t bytes = 192 + 64 * static_cast<off_t>(std::max(options.max_readers, 1u) - 1);
  int error = 0;
  if (::fstat(fd, &st) == 0) bytes = std::max<off_t>(bytes, st.st_size);
  // Reserved already (by an earlier open): nothing to do, and no call that
  // some file systems might refuse on a full disk.
  if (st.st_blocks * 512 < bytes) {
    // Without FALLOC_FL_KEEP_SIZE the file would grow past LMDB's size.
    error = ::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, bytes) == 0 ? 0 : errno;
  }
  ::close(fd);
  if (error != ENOSPC && error != EDQUOT) return;  // done, or a file system without fallocate: as before
  const std::string why = fmt::format("no space left on the file system holding '{}' for its lock file ({} KiB)",
                                      lock.string(), (bytes + 1023) / 1024);
  // Without a block for its first page, LMDB's first write to it would
  // fault. A new lock file stays (LMDB sizes it at the next open): removing it
  // could pull it from under another process that opened it meanwhile.
  if (st.st_blocks == 0) throw std::runtime_error(why + ": free space there, then try again");
  // A lock file made before without the reservation has blocks for the pages
  // used: a reader slot on a page without one would still fail.
  log::warn("{}: reading may fail until space is freed", why);
}

// Whether another process has the environment whose lock file is `lock`
// open: every process that opens it holds an fcntl lock on the lock file's
// first byte for as long as the environment is open (LMDB's
// mdb_env_excl_lock), and F_GETLK reports only other processes' locks.
bool held_by_another_process(const fs::path& lock) {
  const int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  probe.l_start = 0;
  probe.l_len = 1;
  const bool held = ::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
  // The close drops every fcntl lock this process holds on the file: never
  // called while this process has that environment open.
  ::close(fd);
  return held;
}

}  // namespace

Env open_env(const fs::path& path, Env::Options options, OpenMode mode) {
  const bool subdir = !(options.flags & MDB_NOSUBDIR);
  const fs::path data_file = subdir ? path / "data.mdb" : path;
  std::error_code ec;
  const bool had_lock = fs::exists(lock_file(path, subdir), ec);
  // Readers who cannot write the lock file read a data file nobody may write
  // without locks (below). Root may write it all the same; it must not, or
  // such a reader sees pages rewritten under it (measured: check reported a
  // sound database damaged beside a root server taking events).
  if (!(options.flags & MDB_RDONLY) && fs::exists(data_file, ec) && read_only_for_everyone(data_file)) {
    struct stat st {};
    ::stat(data_file.c_str(), &st);
    throw PermissionError(fmt::format(
        "cannot open database '{}' for writing: its data file {} is read-only for everyone (mode {:04o}), which marks "
        "a copy that nobody writes and that readers read without locks; chmod u+w {} to write to it (commands that "
        "only read, such as info, recommend and serve, work as it is)",
        path.string(), data_file.string(), st.st_mode & 07777, data_file.string()));
  }
  // On a read-only file system LMDB reads without a lock table. A read-only
  // mount of a database that a process writes through another path (a bind
  // mount) would then read pages being rewritten: refused while such a
  // process has it open (it holds the lock file). This process holds no lock
  // there, so the probe's close drops none of its own.
  if ((options.flags & MDB_RDONLY) && !read_only_for_everyone(data_file)) {
    struct statvfs fs_info {};
    if (::statvfs(path.c_str(), &fs_info) == 0 && (fs_info.f_flag & ST_RDONLY) &&
        held_by_another_process(lock_file(path, subdir))) {
      throw std::runtime_error(fmt::format(
          "cannot open database '{}': it is on a read-only file system, where LMDB reads without a lock table, and "
          "another process has it open through a writable path (it holds {}), so it may be written while read; "
          "read it through that path, or read a copy (recsys backup)",
          path.string(), lock_file(path, subdir).string()));
    }
  }
  // LMDB opens the lock file through a symbolic link and writes its lock
  // table over the first page of whatever it names, another database's data
  // file included: refused before it is opened.
  const fs::path lock = lock_file(path, subdir);
  if (fs::is_symlink(fs::symlink_status(lock, ec))) {
    throw std::runtime_error(fmt::format(
        "the database's lock file {} is a symbolic link: LMDB would write its lock table into the file it names; "
        "remove the link (the lock file is made again at the next open)",
        lock.string()));
  }
  reserve_lock_file(lock, options);
  try {
    try {
      return Env::open(path.string(), options);
    } catch (const LmdbError& e) {
      // The lock file is out of reach, but no process can write the data: read without locks.
      if (e.code() != EACCES || !(options.flags & MDB_RDONLY) || !read_only_for_everyone(data_file)) throw;
      options.flags |= MDB_NOLOCK;
      return Env::open(path.string(), options);
    }
  } catch (const LmdbError& e) {
    if (e.code() == EACCES) throw_permission(path, data_file, subdir, mode);
    // Like a permission: serve falls back to reading (LMDB itself reads a
    // read-only file system without locks).
    if (e.code() == EROFS && mode != OpenMode::ReadOnly) {
      throw PermissionError("cannot open database '" + path.string() +
                            "' for writing: it is on a read-only file system (commands that only read, such as info, "
                            "recommend and serve, work there)");
    }
    if (e.code() == MDB_INVALID || e.code() == MDB_VERSION_MISMATCH) {
      // LMDB made its lock file before it read the data file: a lock it made
      // for a file that is no database is not left behind (info on a CSV
      // given as --db left CSV-lock).
      if (!had_lock) fs::remove(lock_file(path, subdir), ec);
      throw std::runtime_error("'" + path.string() + "' is not an LMDB database of this version");
    }
    if (e.code() == ENOMEM) {
      throw std::runtime_error(std::string(e.what()) +
                               ": the database is memory-mapped and its map needs that much address space (--map-size "
                               "for a writer, the size the last writer recorded for a reader); raise ulimit -v");
    }
    throw;
  }
}

// One data file, one lock table: a second name for the file would get a lock
// of its own, and a writer on each built on a stale snapshot of the other's
// commits (measured: an import reported and lost). Symbolic links are resolved
// (resolve_db_path); these are the two other ways to a second name.
void refuse_second_lock(const fs::path& path) {
  std::error_code ec;
  const bool subdir = fs::is_directory(path, ec);
  const fs::path data_file = subdir ? path / "data.mdb" : path;
  struct stat st {};
  if (::stat(data_file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink > 1) {
    throw std::runtime_error(fmt::format(
        "the database file {} has {} names (hard links): opened by each, it would get a lock file per name, and "
        "writers could lose each other's commits; keep one name (remove the other links) or make a copy (cp)",
        data_file.string(), st.st_nlink));
  }
  // DIR/data.mdb opened as a single-file database (lock DIR/data.mdb-lock) by
  // a process now, while DIR is opened as a directory (lock DIR/lock.mdb).
  if (subdir && held_by_another_process(path / "data.mdb-lock")) {
    throw std::runtime_error("'" + (path / "data.mdb").string() +
                             "' is open in another process as a single-file database (its lock is data.mdb-lock): "
                             "opened as the directory it would get a second lock, and writers could lose each "
                             "other's commits; open it as that process does (--db " +
                             (path / "data.mdb").string() + ")");
  }
}

void refuse_file_inside_database(const fs::path& path) {
  const auto name = path.filename();
  if (name != "data.mdb" && name != "lock.mdb") return;
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  // A single-file environment that happens to be named data.mdb (its lock is
  // data.mdb-lock, and no directory environment shares its directory) is one.
  std::error_code ec;
  if (name == "data.mdb" && fs::exists(path.string() + "-lock", ec) && !fs::exists(dir / "lock.mdb", ec)) return;
  throw std::runtime_error("'" + path.string() + "' is a file of the database directory '" + dir.string() +
                           "': give the directory (--db " + dir.string() +
                           "); opened as a file it would get a lock of its own, and two writers could corrupt it");
}

void refuse_unmappable(const fs::path& path, bool creating) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec) return;  // missing: the caller says so
  const bool subdir = fs::is_directory(status);
  if (!subdir && !fs::is_regular_file(status)) {
    // /dev/null answered "Bad file descriptor", and opening a FIFO waited for a writer forever.
    throw std::runtime_error("'" + path.string() +
                             "' is neither a directory nor a regular file: --db names a database directory (or a "
                             "single database file)");
  }
  // A data file of 0 bytes holds no commit: a process creating it was stopped
  // before LMDB wrote its first pages, or it was emptied. Only a command that
  // creates databases may start it afresh; serve would have served an empty
  // database as if nothing were wrong, and the readers said "Bad file descriptor".
  const fs::path data_file = subdir ? path / "data.mdb" : path;
  if (!creating && fs::is_regular_file(data_file, ec) && fs::file_size(data_file, ec) == 0 && !ec) {
    throw std::runtime_error("the data file " + data_file.string() +
                             " is empty (0 bytes): it holds no database (creating it may have been interrupted, or "
                             "it was emptied); restore a backup, or import into it to start afresh");
  }
}

fs::path resolve_db_path(const fs::path& given) {
  // A link whose target does not exist yet too: the database is created at
  // the target (mkdir on the link itself fails with EEXIST, and LMDB then
  // created a single file there through the link, with its lock beside it).
  std::error_code ec;
  const fs::path existing = fs::exists(given, ec) ? given : util::follow_links(given);
  fs::path resolved = fs::weakly_canonical(existing, ec);
  return ec ? given : resolved;
}

bool in_use_by_another_process(const fs::path& db_path) {
  const fs::path path = resolve_db_path(db_path);
  std::error_code ec;
  return held_by_another_process(lock_file(path, fs::is_directory(path, ec)));
}

fs::path default_db_path() {
  if (const char* env = std::getenv("RECSYS_DB"); env && *env) return env;
  return "recsys.db";
}

Database::Database(Database&&) noexcept = default;
Database& Database::operator=(Database&&) noexcept = default;
Database::~Database() = default;

Database Database::open(const OpenOptions& options) {
  Database db;
  db.path_ = options.path;
  db.read_only_ = options.mode == OpenMode::ReadOnly;
  db.map_lock_ = std::make_unique<MapLock>();

  // Every path to one database must give LMDB the same one: a single-file
  // environment's lock is named after the path it is opened by
  // (PATH-lock), so opened through a symbolic link it got a second lock
  // table, and a writer on each path built on a stale snapshot of the other's
  // commits (committed data lost). path_ keeps the path as given; LMDB's and
  // the checks' messages name the resolved one.
  const fs::path path = resolve_db_path(options.path);
  refuse_file_inside_database(path);
  std::error_code ec;
  auto status = fs::status(path, ec);
  bool exists = !ec && fs::exists(status);
  unsigned int flags = MDB_NOTLS;
  if (!exists) {
    if (options.mode != OpenMode::Create) {
      throw std::runtime_error("no recsys database at '" + options.path.string() +
                               "': import ratings first (recsys import FILE) or point --db / RECSYS_DB at one");
    }
    if (path.has_parent_path()) fs::create_directories(path.parent_path());
    if (::mkdir(path.c_str(), kDbDirMode) != 0 && errno != EEXIST) {
      throw std::system_error(errno, std::generic_category(), "cannot create the database directory '" +
                                                                  options.path.string() + "'");
    }
    db.created_ = true;
    status = fs::status(path);
  }
  const bool subdir = fs::is_directory(status);
  bool has_data = true;  // a directory's data.mdb exists
  if (subdir) {
    db.data_file_ = path / "data.mdb";
    std::error_code entering;
    has_data = fs::exists(db.data_file_, entering);
    // A directory this user may not enter: said with its owner, instead of
    // "filesystem error: status: Permission denied". (Asked of stat itself:
    // access() uses the real uid and ignores capabilities, so it refused a
    // backup agent given CAP_DAC_READ_SEARCH.)
    if (entering == std::errc::permission_denied) {
      throw PermissionError("cannot open database '" + options.path.string() + "': permission denied entering " +
                            path.string() + ownership_note(path));
    }
    if (entering) throw fs::filesystem_error("status", db.data_file_, entering);
    if (options.mode != OpenMode::Create && !has_data) {
      throw std::runtime_error("'" + options.path.string() + "' is a directory without a recsys database (data.mdb)");
    }
  } else {
    flags |= MDB_NOSUBDIR;
    db.data_file_ = path;
  }
  refuse_unmappable(path, options.mode == OpenMode::Create);
  refuse_second_lock(path);
  // A new directory, or an existing one without a data file (made empty by
  // hand): a failed first import removes the data file it made.
  db.created_data_ = !has_data;

  Env::Options env_options;
  env_options.flags = flags;
  env_options.mode = kDbFileMode;
  if (db.read_only_) {
    env_options.flags |= MDB_RDONLY;
  } else {
    std::uintmax_t size = fs::exists(db.data_file_) ? fs::file_size(db.data_file_) : 0;
    env_options.map_size = std::max<std::size_t>(options.initial_map_size, static_cast<std::size_t>(size) * 2);
  }
  db.env_ = std::make_unique<Env>(open_env(path, env_options, options.mode));
  // A CLI process killed mid-transaction leaves its reader slot behind.
  if (int freed = db.clear_stale_readers(); freed > 0) {
    log::info("freed {} reader slot(s) left by processes that died", freed);
  }
  db.open_tables(!db.read_only_);
  return db;
}

void Database::open_tables(bool writable) {
  Txn txn = writable ? begin_write_txn({}) : begin_read();
  unsigned int create = writable ? MDB_CREATE : 0;
  auto open = [&](const char* name, unsigned int flags) {
    try {
      return Dbi::open(txn, name, flags | create);
    } catch (const LmdbError& e) {
      if (e.code() == MDB_NOTFOUND) {
        // An environment without any table: a creation that failed before
        // its first commit (a full disk, no file descriptors left).
        MDB_stat main{};
        if (mdb_stat(txn.handle(), 1, &main) == MDB_SUCCESS && main.ms_entries == 0) {
          throw std::runtime_error("database '" + path_.string() +
                                   "' is empty: its creation did not finish (a full disk, or no file descriptors "
                                   "left); import ratings into it again (recsys import FILE)");
        }
        throw std::runtime_error("database '" + path_.string() + "' has no table '" + name +
                                 "': not a recsys database, or written by another version");
      }
      throw;
    }
  };
  // The meta table first: an environment without it is not ours.
  tables_.meta = open("meta", 0);
  auto version = meta_u32(txn, kSchemaKey);
  if (!version) {
    if (!writable) {
      throw std::runtime_error("database '" + path_.string() + "' has no schema version: not a recsys database");
    }
    MDB_stat st = env_->stat();
    // A fresh environment holds only our table names in its main database.
    if (st.ms_entries > 1) {
      throw std::runtime_error("'" + path_.string() + "' is an LMDB environment that recsys did not create");
    }
    put_meta_u32(txn, kSchemaKey, kSchemaVersion);
  } else if (*version > kSchemaVersion) {
    throw std::runtime_error("database '" + path_.string() + "' has schema version " + std::to_string(*version) +
                             ", written by a newer recsys; this one reads versions " +
                             std::to_string(kOldestReadableSchema) + " to " + std::to_string(kSchemaVersion) +
                             ": use that newer recsys (or a newer one)");
  } else if (*version < kOldestReadableSchema) {
    throw std::runtime_error("database '" + path_.string() + "' has schema version " + std::to_string(*version) +
                             " but this recsys reads versions " + std::to_string(kOldestReadableSchema) + " to " +
                             std::to_string(kSchemaVersion) + ": re-import the ratings into a new database");
  } else if (*version < kSchemaVersion && writable) {
    // The tables it lacks are created below, in this transaction.
    put_meta_u32(txn, kSchemaKey, kSchemaVersion);
    upgraded_from_ = *version;
  }
  tables_.user_ids = open("user_ids", 0);
  tables_.user_keys = open("user_keys", MDB_INTEGERKEY);
  tables_.item_ids = open("item_ids", 0);
  tables_.item_keys = open("item_keys", MDB_INTEGERKEY);
  tables_.ratings = open("ratings", MDB_INTEGERKEY);
  tables_.models = open("models", MDB_INTEGERKEY);
  tables_.factors = open("factors", 0);
  tables_.user_recs = open("user_recs", 0);
  tables_.item_similar = open("item_similar", 0);
  tables_.popularity = open("popularity", 0);
  tables_.item_meta = open("item_meta", 0);
  // Added in schema version 2: a version-1 database read without writing may lack it.
  try {
    tables_.candidates = open("candidates", 0);
  } catch (const LmdbError&) {
    throw;
  } catch (const std::runtime_error&) {  // not there
    if (writable || version.value_or(kSchemaVersion) >= 2) throw;
    tables_.candidates = Dbi::absent();
  }
  try {
    txn.commit();
  } catch (const CommitError& e) {
    throw CommitError(e.code(), e.what() + space_note(e.code()));
  }
  if (upgraded_from_) {
    log::info("database '{}' upgraded from schema version {} to {} (recsys versions before it now refuse it)",
              path_.string(), upgraded_from_, kSchemaVersion);
  }
}

Txn Database::begin_read() { return begin_txn(MDB_RDONLY); }

// Writers of every recsys process first take an flock on the data file, and
// only then the map hold and LMDB's writer mutex. A thread waiting for another
// process's write transaction therefore waits here, holding no map hold: were
// it blocked inside mdb_txn_begin with the hold, a reader of this process that
// must adopt a map the other process grew (MDB_MAP_RESIZED) would wait for that
// hold, and its pending resize would stop every new read of the process until
// the other process committed. (A writer that is not recsys takes only LMDB's
// mutex: beside one, that stall remains possible.)
Txn Database::begin_write_txn(const std::function<bool()>& keep_waiting) {
  if (read_only_) throw std::logic_error("write transaction on a database opened read-only");
  // Lock order: the writers' flock, then the map hold. A thread that waited
  // for the flock while holding a snapshot could deadlock with a writer of this
  // process waiting for a resize that waits for that snapshot.
  if (map_lock_->held_by_this_thread()) {
    throw std::logic_error("write transaction begun by a thread that holds a transaction: end it first");
  }
  // Without a limit (commands) the wait is said after 2 s: a command behind
  // another process's long transaction (an import, or a stopped process) was
  // silent for as long as that lasted. Then flock blocks: a blocked waiter is
  // woken at each release, where a poll would rarely land between the
  // server's back-to-back events commits.
  FileLock writer;
  if (keep_waiting) {
    writer = FileLock(data_file_.string(), keep_waiting);
  } else {
    const auto notice = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    try {
      writer = FileLock(data_file_.string(), [&] { return std::chrono::steady_clock::now() < notice; });
    } catch (const LockWaitAbandoned&) {
      log::info("waiting for another process to finish writing to {} (an import, a train, a precompute or a "
                "server's events)",
                path_.string());
      writer = FileLock(data_file_.string());
    }
  }
  Txn txn = begin_txn(0);
  txn.attach(std::move(writer));
  return txn;
}

// Every transaction begins under a shared hold of the map lock; another
// process having grown the map past ours (MDB_MAP_RESIZED) is handled by
// dropping the hold, adopting the size exclusively, and beginning again.
Txn Database::begin_txn(unsigned int flags) {
  for (int attempt = 0;; ++attempt) {
    auto hold = map_lock_->shared();
    try {
      Txn txn = Txn::begin(env_->handle(), flags);
      txn.attach(std::move(hold));
      return txn;
    } catch (const LmdbError& e) {
      if (e.code() != MDB_MAP_RESIZED || attempt == kMaxResizeRetries) throw;
    }
    hold.release();
    adopt_map_size();
  }
}

void Database::renew(Txn& txn) {
  for (int attempt = 0;; ++attempt) {
    auto hold = map_lock_->shared();
    try {
      txn.renew();
      txn.attach(std::move(hold));
      return;
    } catch (const LmdbError& e) {
      if (e.code() != MDB_MAP_RESIZED || attempt == kMaxResizeRetries) throw;
    }
    hold.release();
    adopt_map_size();
  }
}

void Database::adopt_map_size() {
  MapLock::Exclusive exclusive(*map_lock_);
  std::size_t before = env_->map_size();
  env_->set_map_size(0);  // 0: the size recorded by the process that grew it
  std::size_t after = env_->map_size();
  if (after != before) {
    log::info("database map resized by another process: {:.1f} -> {:.1f} MiB", before / 1048576.0, after / 1048576.0);
  }
}

void Database::grow_map() {
  MapLock::Exclusive exclusive(*map_lock_);
  std::size_t current = env_->map_size();
  env_->set_map_size(current * 2);
  // Info, like adopting another process's size: which process grew the map
  // decides how the others follow it (docs/storage.md, "Map size").
  log::info("database map full: grown by this process {:.1f} -> {:.1f} MiB", current / 1048576.0,
            current * 2 / 1048576.0);
}

namespace {
// A file system counts as full below 64 MiB free, or below a sixteenth of its
// size on one smaller than 1 GiB (a 40 MiB volume with 25 MiB free is not full).
constexpr double kNearlyFullMiB = 64;

// The process's file-size limit in bytes when the data file is within 4 MiB of it.
std::optional<std::uint64_t> file_size_limit_reached(const fs::path& data_file) {
  // A file-size limit (ulimit -f, systemd's LimitFSIZE=) stops the file growing on any disk.
  struct rlimit limit {};
  std::error_code ec;
  const auto size = fs::file_size(data_file, ec);
  if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && !ec &&
      size + 4 * 1048576 >= limit.rlim_cur) {
    return static_cast<std::uint64_t>(limit.rlim_cur);
  }
  return std::nullopt;
}

struct FreeSpace {
  double free_mib = 0;
  double full_below_mib = kNearlyFullMiB;
};

std::optional<FreeSpace> free_space(const fs::path& data_file) {
  const fs::path dir = data_file.has_parent_path() ? data_file.parent_path() : fs::path(".");
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return std::nullopt;
  const double block = static_cast<double>(st.f_frsize);
  const double size_mib = static_cast<double>(st.f_blocks) * block / 1048576.0;
  return FreeSpace{static_cast<double>(st.f_bavail) * block / 1048576.0, std::min(kNearlyFullMiB, size_mib / 16)};
}
}  // namespace

bool Database::out_of_space() const {
  if (file_size_limit_reached(data_file_)) return true;
  auto space = free_space(data_file_);
  return space && space->free_mib < space->full_below_mib;
}

std::string Database::space_note(int code) const {
  // EFBIG: a write past the process's file-size limit (SIGXFSZ is ignored).
  if (code != EIO && code != ENOSPC && code != EFBIG) return {};
  const fs::path dir = data_file_.has_parent_path() ? data_file_.parent_path() : fs::path(".");
  if (auto limit = file_size_limit_reached(data_file_)) {
    std::error_code ec;
    const auto size = fs::file_size(data_file_, ec);
    return fmt::format(" (the data file has {:.1f} MiB and the process's file-size limit is {:.1f} MiB: raise ulimit -f "
                       "or LimitFSIZE=; nothing of this transaction was stored)",
                       size / 1048576.0, *limit / 1048576.0);
  }
  if (code == EFBIG) {
    return " (a write past the largest file this process or its file system allows: see ulimit -f or LimitFSIZE=; "
           "nothing of this transaction was stored)";
  }
  auto space = free_space(data_file_);
  if (!space) return {};
  const double mib = space->free_mib;
  if (mib < space->full_below_mib) {
    return fmt::format(" (the file system holding {} has {:.1f} MiB free: the disk is full, and LMDB reports a short "
                       "write as an I/O error; nothing of this transaction was stored)",
                       dir.string(), mib);
  }
  return fmt::format(" ({:.1f} MiB free now on the file system holding {}; if it was not full at the time, look for "
                     "I/O errors in the kernel log)",
                     mib, dir.string());
}

int Database::clear_stale_readers() {
  int dead = 0;
  check("mdb_reader_check", mdb_reader_check(env_->handle(), &dead));
  return dead;
}

std::optional<std::uint32_t> Database::meta_u32(const Txn& txn, std::string_view key) const {
  auto v = tables_.meta.get(txn, key);
  if (!v) return std::nullopt;
  return load<std::uint32_t>(*v);
}

void Database::put_meta_u32(const Txn& txn, std::string_view key, std::uint32_t value) const {
  tables_.meta.put(txn, key, bytes_of(value));
}

std::optional<std::string> Database::meta_string(const Txn& txn, std::string_view key) const {
  auto v = tables_.meta.get(txn, key);
  if (!v) return std::nullopt;
  return std::string(*v);
}

void Database::put_meta_string(const Txn& txn, std::string_view key, std::string_view value) const {
  tables_.meta.put(txn, key, value);
}

Database::SpaceUse Database::space_use(const Txn& txn) const {
  auto pages = [](const MDB_stat& st) {
    return std::uint64_t{st.ms_branch_pages} + st.ms_leaf_pages + st.ms_overflow_pages;
  };
  auto tree = [&](MDB_dbi dbi) {
    MDB_stat st{};
    return mdb_stat(txn.handle(), dbi, &st) == MDB_SUCCESS ? pages(st) : 0;
  };
  constexpr MDB_dbi kFreeDbi = 0, kMainDbi = 1;
  const MDB_stat env_stat = env_->stat();
  const std::uint64_t page = env_stat.ms_psize;
  std::uint64_t used = 2 + tree(kFreeDbi) + tree(kMainDbi);
  for (const Dbi* t : {&tables_.meta, &tables_.user_ids, &tables_.user_keys, &tables_.item_ids, &tables_.item_keys,
                       &tables_.ratings, &tables_.models, &tables_.factors, &tables_.user_recs, &tables_.item_similar,
                       &tables_.popularity, &tables_.item_meta, &tables_.candidates}) {
    used += pages(t->stat(txn));
  }
  MDB_envinfo info{};
  mdb_env_info(env_->handle(), &info);
  SpaceUse out;
  out.used_bytes = used * page;
  out.factor_bytes = pages(tables_.factors.stat(txn)) * page;
  out.end_bytes = (std::uint64_t{info.me_last_pgno} + 1) * page;
  return out;
}

std::uintmax_t Database::file_size() const {
  std::error_code ec;
  auto size = fs::file_size(data_file_, ec);
  return ec ? 0 : size;
}

}  // namespace recsys::store
