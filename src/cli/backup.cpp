// recsys backup DEST: a consistent hot copy of the database (mdb_env_copyfd2 with
// compaction runs inside one read transaction, so a server or an import may keep
// running). DEST becomes a database directory usable with --db on another VM,
// with the modes of a new database (0750 directory, 0640 data file).
#include <fcntl.h>
#include <sys/file.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <system_error>

#include "cli/options.hpp"
#include "store/check.hpp"
#include "store/database.hpp"
#include "util/error.hpp"
#include "util/fault_guard.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/timer.hpp"

namespace recsys::cli {

namespace {

struct BackupOptions {
  std::string dest;
  bool no_compact = false;
};

namespace fs = std::filesystem;

[[noreturn]] void throw_errno(const std::string& what, const fs::path& path) {
  throw std::system_error(errno, std::generic_category(), what + " '" + path.string() + "'");
}

// The copy is written under this name and renamed to data.mdb once whole and
// on disk: a backup killed midway (kill -9, power loss) leaves no data.mdb that
// looks like a database and is cut short (opening one raised SIGBUS).
constexpr const char* kPartialName = "data.mdb.partial";

// An exclusive flock(2) on DEST, held by a backup for as long as it writes
// there (released by the kernel however the process ends). Under it, a
// data.mdb.partial in DEST is one a stopped backup left (kill -9, power loss):
// no live backup writes it.
// Another backup holds DEST: the directory is theirs.
struct DestBusy : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class DestLock {
 public:
  DestLock() = default;
  DestLock(const DestLock&) = delete;
  DestLock& operator=(const DestLock&) = delete;
  ~DestLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Takes the lock on the directory `dest`; throws when another backup holds
  // it. False when the file system offers no flock on it (some network
  // mounts): the backup then goes on unlocked, as before there was one.
  bool take(const fs::path& dest) {
    fd_ = ::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) throw_errno("cannot open the backup directory", dest);
    while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EINTR) continue;
      if (errno == EWOULDBLOCK)
        throw DestBusy("backup destination '" + dest.string() +
                       "' is being written by another recsys backup now; wait for it, or choose a new path");
      log::warn("cannot lock the backup directory {} ({}): another backup to it at the same time would not be "
                "refused, and an unfinished copy found there is not replaced",
                dest.string(), std::strerror(errno));
      return false;
    }
    return true;
  }

 private:
  int fd_ = -1;
};

// DEST/data.mdb.partial, created with the modes of a new database (store/database.hpp):
// a backup holds the same ratings and ids as the original, so it must be no more
// readable. DEST is created 0750 unless it is an empty directory already (then
// its owner chose its mode). Returns the data file's descriptor; `created_dir`
// says whether DEST is ours to remove when the copy fails. `lock` holds DEST
// until the backup ends. The guard removes what was created if a fault or an
// interrupt ends the process.
int create_copy_file(const fs::path& dest, bool& created_dir, DestLock& lock, util::FaultGuard& guard) {
  std::error_code ec;
  created_dir = false;
  const fs::path file = dest / kPartialName;
  if (fs::exists(dest, ec)) {
    if (!fs::is_directory(dest)) {
      throw std::runtime_error("backup destination '" + dest.string() +
                               "' already exists and is not an empty directory; choose a new path");
    }
    const bool locked = lock.take(dest);
    // Empty but for a partial copy: checked before that is removed.
    for (const auto& entry : fs::directory_iterator(dest)) {
      if (entry.path().filename() != kPartialName) {
        throw std::runtime_error("backup destination '" + dest.string() +
                                 "' already exists and is not an empty directory; choose a new path");
      }
    }
    if (fs::exists(file, ec)) {
      if (!locked) {
        throw std::runtime_error("backup destination '" + dest.string() + "' holds an unfinished backup (" +
                                 kPartialName + ", from a backup that was stopped): remove it, or choose a new path");
      }
      if (!fs::remove(file, ec) || ec)
        throw std::runtime_error("cannot remove the unfinished backup '" + file.string() + "': " + ec.message());
      log::warn("removed {}: an unfinished copy left by a backup that was stopped (kill -9 or a power loss)",
                file.string());
    }
  }
  // Armed before each creating call, disarmed when it fails: see util/fault_guard.hpp.
  // Under the lock, the partial copy an interrupt removes is this backup's.
  guard.removes(file.string(), dest.string());
  if (!fs::exists(dest, ec)) {
    if (dest.has_parent_path()) fs::create_directories(dest.parent_path());
    guard.arm_dir();
    if (::mkdir(dest.c_str(), store::kDbDirMode) != 0) {
      guard.arm_dir(false);
      throw_errno("cannot create the backup directory", dest);
    }
    created_dir = true;
    try {
      lock.take(dest);
    } catch (const DestBusy&) {
      // Another backup that found the new directory locked it first: it is theirs now.
      guard.arm_dir(false);
      created_dir = false;
      throw;
    } catch (...) {
      // It could not be opened (no file descriptors left): not left behind empty.
      guard.arm_dir(false);
      created_dir = false;
      ::rmdir(dest.c_str());
      throw;
    }
  }
  guard.arm_file();
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, store::kDbFileMode);
  if (fd >= 0) return fd;
  const int error = errno;
  guard.arm_file(false);
  if (created_dir) ::rmdir(dest.c_str());
  errno = error;
  throw_errno("cannot create the backup file", file);
}

// The copy, flushed to disk before it is reported as written.
void write_copy(store::Database& db, int fd, bool compact, const fs::path& file) {
  try {
    db.env().copy_to_fd(fd, compact);
  } catch (const store::LmdbError& e) {
    struct stat partial {};
    if (::fstat(fd, &partial) != 0) partial.st_size = 0;
    ::close(fd);
    // A full destination said like every other full disk: where, how much is
    // free once the partial copy is removed (it fills the disk now), and how
    // much the copy needs (was "mdb_env_copyfd2: No space left on device"
    // alone). Under a quota (EDQUOT) the file system's figure is not the limit.
    struct statvfs st {};
    std::error_code ec;
    const auto data_size = fs::file_size(db.data_file(), ec);
    if ((e.code() == ENOSPC || e.code() == EDQUOT) && ::statvfs(file.parent_path().c_str(), &st) == 0 && !ec) {
      throw std::runtime_error(fmt::format(
          "cannot write the backup to {}: {} ({:.1f} MiB free on its file system without the partial copy; the "
          "database's data file has {:.1f} MiB, which a copy needs at most{}); the partial copy was removed",
          file.parent_path().string(), std::strerror(e.code()),
          (static_cast<double>(st.f_bavail) * static_cast<double>(st.f_frsize) + static_cast<double>(partial.st_size)) /
              1048576.0,
          static_cast<double>(data_size) / 1048576.0, compact ? ", less the free pages compacting leaves out" : ""));
    }
    throw;
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::fsync(fd) != 0) {
    int error = errno;
    ::close(fd);
    errno = error;
    throw_errno("cannot flush the backup file", file);
  }
  if (::close(fd) != 0) throw_errno("cannot close the backup file", file);
}

// Makes a rename or a new entry in `dir` durable. Some file systems refuse to
// flush a directory (EINVAL on some FUSE and network mounts): the copy is whole
// and renamed by then, so that is said, not treated as a failed backup.
void sync_directory(const fs::path& dir) {
  if (const int error = util::sync_directory(dir); error != 0)
    log::warn("could not flush the directory {} ({}): the backup is written, but a power loss now may lose its name",
              (dir.empty() ? fs::path(".") : dir).string(), std::strerror(error));
}

// Thrown when DEST/data.mdb appeared while the copy was written: another
// process made a database there, which stays as it is.
struct DestTaken : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Renames `from` to `to` unless `to` exists, in one step: the DEST lock keeps
// out other backups only, and a plain rename replaced a database that an
// import or a server had created in DEST meanwhile (its commits, acknowledged,
// were lost with the unlinked file). RENAME_NOREPLACE where the file system
// has it, else a hard link (which fails on an existing name) and an unlink;
// where neither exists, a check and a rename.
void rename_no_replace(const fs::path& from, const fs::path& to) {
  auto taken = [&] {
    throw DestTaken(fmt::format("{} appeared while the backup was written: another process created a database in "
                                "{}, which was left as it is; the copy was removed: choose a new path",
                                to.string(), to.parent_path().string()));
  };
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return;
  if (errno == EEXIST) taken();
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) throw_errno("cannot rename the backup file", from);
  if (::link(from.c_str(), to.c_str()) == 0) {
    // The copy is published: a failure now must not remove it. Its second
    // name would make recsys refuse it (refuse_second_lock), so say so.
    if (::unlink(from.c_str()) != 0) {
      log::warn("the backup is written to {}, but its temporary name {} could not be removed ({}): remove it before "
                "opening the copy",
                to.string(), from.string(), std::strerror(errno));
    }
    return;
  }
  if (errno == EEXIST) taken();
  if (errno != EPERM && errno != ENOTSUP && errno != EMLINK) throw_errno("cannot rename the backup file", from);
  std::error_code ec;
  if (fs::exists(to, ec)) taken();
  if (::rename(from.c_str(), to.c_str()) != 0) throw_errno("cannot rename the backup file", from);
}

// The whole copy becomes DEST/data.mdb in one step, and the names reach the disk.
void publish_copy(const fs::path& dest, bool created_dir, util::FaultGuard& guard) {
  rename_no_replace(dest / kPartialName, dest / "data.mdb");
  guard.arm_dir(false);
  guard.arm_file(false);
  sync_directory(dest);
  if (created_dir) sync_directory(dest.parent_path());
}

// A copy inside the database directory is lost with it (the failure a backup
// is for) and would be copied into every later backup of the directory.
void refuse_dest_inside(const fs::path& db_dir, const fs::path& dest) {
  std::error_code ec;
  if (!fs::is_directory(db_dir, ec)) return;
  const fs::path dir = fs::weakly_canonical(db_dir, ec);
  if (ec) return;
  const fs::path target = fs::weakly_canonical(fs::absolute(dest, ec), ec);
  if (ec) return;
  auto [d, t] = std::mismatch(dir.begin(), dir.end(), target.begin(), target.end());
  if (d == dir.end()) {
    throw std::runtime_error("backup destination '" + dest.string() + "' is inside the database directory '" +
                             db_dir.string() + "': a copy there is lost with the database; choose a path outside it");
  }
}

// LMDB's compacting copy trusts the trees it walks: on a source with a damaged
// node it wrote a copy whose page numbers were shifted after that node, and
// backup said "written" (a copy where every command failed). The copy's
// structure is checked before it is published; the page-by-page copy
// (--no-compact) is the source's bytes, damage included, and is not.
void verify_copy(const fs::path& source, const fs::path& partial) {
  store::CheckReport report;
  try {
    report = store::check_structure(partial);
  } catch (const std::exception& e) {
    report.add("environment", "", e.what());
  }
  if (report.ok()) return;
  throw std::runtime_error(fmt::format(
      "backup stopped: the compacted copy does not pass recsys check ({} finding(s), the first: {}), so '{}' is "
      "damaged; run recsys check on it and restore a backup; recsys backup --no-compact copies it page by page, "
      "damage included",
      report.total, report.findings.empty() ? std::string("?") : report.findings.front(), source.string()));
}

void run_backup(const GlobalOptions& global, const BackupOptions& options) {
  if (options.dest.empty()) throw UsageError("backup: DEST is an empty path (name the directory to write the copy to)");
  auto db = open_database(global, store::OpenMode::ReadOnly);
  fs::path dest = fs::path(options.dest).lexically_normal();
  if (!dest.has_filename()) dest = dest.parent_path();  // "copy.db/" names copy.db
  refuse_dest_inside(db.path(), dest);
  // LMDB trusts its pages: on a damaged file the compacting copy, which walks
  // every tree, faulted (SIGSEGV) and left DEST/data.mdb.partial.
  const std::string fault_message =
      options.no_compact
          ? fmt::format("recsys: error: backup stopped: a page of '{}' could not be read (a file cut short or a "
                        "disk error); run recsys check on it\n",
                        db.path().string())
          : fmt::format("recsys: error: backup stopped: LMDB met a damaged page of '{}' while compacting (the "
                        "copy walks every tree); run recsys check on it and restore a backup; recsys backup "
                        "--no-compact copies it page by page, damage included\n",
                        db.path().string());
  const std::string interrupt_message = "\nrecsys: interrupted: backup stopped; its partial copy was removed\n";
  // From before the copy's file and directory exist until the copy is whole, a
  // fault or an interrupt (Ctrl-C, SIGTERM, SIGHUP) removes them.
  auto guard = std::make_optional<util::FaultGuard>(fault_message, interrupt_message);
  bool created_dir = false;
  DestLock lock;
  int fd = create_copy_file(dest, created_dir, lock, *guard);
  Timer timer;
  try {
    write_copy(db, fd, !options.no_compact, dest / kPartialName);
    if (!options.no_compact) verify_copy(db.path(), dest / kPartialName);
    // The guard stays through the rename: an interrupt before it still
    // removes the partial copy; after it, the whole copy stays.
    publish_copy(dest, created_dir, *guard);
    guard.reset();
  } catch (...) {
    // Never leave a half-written copy behind. Nothing else is removed: a
    // data.mdb there is another process's (publish_copy never fails after its
    // rename), and a directory this backup created goes only if it is empty.
    std::error_code ec;
    fs::remove(dest / kPartialName, ec);
    if (created_dir) fs::remove(dest, ec);
    throw;
  }
  std::error_code ec;
  auto size = fs::file_size(dest / "data.mdb", ec);
  std::printf("%s", fmt::format("backup of {} written to {} ({:.1f} MiB in {:.2f} s)\n", db.path().string(),
                                dest.string(), static_cast<double>(size) / 1048576.0, timer.seconds())
                        .c_str());
}

}  // namespace

void setup_backup(CLI::App& app, const GlobalOptions& global, Runner& run) {
  auto options = std::make_shared<BackupOptions>();
  auto* sub = app.add_subcommand("backup", "Write a consistent hot copy of the database to DEST (a new directory)");
  sub->add_option("dest", options->dest, "Destination directory (must not exist, or be empty)")->required();
  sub->add_flag("--no-compact", options->no_compact, "Copy pages as they are instead of compacting");
  sub->callback([&global, &run, options] { run = [&global, options] { run_backup(global, *options); }; });
}

}  // namespace recsys::cli
