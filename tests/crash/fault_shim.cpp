// Fault injection, LD_PRELOADed into `recsys serve` by the fault tests only
// (tests/crash/fault_test.cpp). Nothing changes until the process receives
// SIGUSR1 (which recsys does not use); from then on, by RECSYS_FAULT:
//   sync_eio  fdatasync fails with EIO on a thread that has not written since
//             its last sync: the events flusher's periodic sync of the meta
//             page, not the sync inside a commit (LMDB writes the dirty pages,
//             then syncs them, on the committing thread);
//   new       every operator new throws std::bad_alloc (an unexpected error in
//             whichever thread allocates next);
//   write_full pwrite, pwrite64 and writev write nothing (return 0), as on a
//             full disk (LMDB reports the short write as EIO) until SIGUSR2
//             disarms the fault again (space freed); regular files only;
//   fsync_eio fsync (not fdatasync, which LMDB's commits use) fails with EIO
//             on regular files: a report or a backup copy that cannot reach
//             the disk;
//   backup_race the fsync of a backup's whole copy (DEST/data.mdb.partial)
//             first creates DEST/data.mdb holding "another database\n", as
//             another process creating a database in DEST would.
// RECSYS_FAULT_ARMED=1 arms the fault from the start, for commands that do
// not run long enough to be signalled.
// The real functions are found with dlsym(RTLD_NEXT): under ASan they are the
// sanitizer's, so memory allocated here is freed by the matching delete.
// Both pwrite and pwrite64 are defined below: no header redirection.
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace {

volatile sig_atomic_t armed = 0;  // set by the SIGUSR1 handler only
enum class Fault { None, SyncEio, New, WriteFull, FsyncEio, BackupRace };
Fault fault = Fault::None;          // set once, before main
thread_local bool wrote_since_sync = false;

void arm(int) { armed = 1; }
void disarm(int) { armed = 0; }

__attribute__((constructor)) void install() {
  const char* f = std::getenv("RECSYS_FAULT");
  if (!f) return;
  if (std::strcmp(f, "sync_eio") == 0) fault = Fault::SyncEio;
  if (std::strcmp(f, "new") == 0) fault = Fault::New;
  if (std::strcmp(f, "write_full") == 0) fault = Fault::WriteFull;
  if (std::strcmp(f, "fsync_eio") == 0) fault = Fault::FsyncEio;
  if (std::strcmp(f, "backup_race") == 0) fault = Fault::BackupRace;
  const char* from_start = std::getenv("RECSYS_FAULT_ARMED");
  if (from_start && std::strcmp(from_start, "1") == 0) armed = 1;
  struct sigaction sa {};
  sa.sa_handler = arm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, nullptr);
  sa.sa_handler = disarm;
  sigaction(SIGUSR2, &sa, nullptr);
}

template <typename Fn>
Fn next(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

bool regular_file(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

// Only regular files fill up: the log and sockets keep working.
bool disk_full(int fd) { return armed && fault == Fault::WriteFull && regular_file(fd); }

}  // namespace

extern "C" {

ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
  static auto real = next<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite");
  if (disk_full(fd)) return 0;
  wrote_since_sync = true;
  return real(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void* buf, size_t n, off_t off) {
  static auto real = next<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite64");
  if (disk_full(fd)) return 0;
  wrote_since_sync = true;
  return real(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec* iov, int n) {
  static auto real = next<ssize_t (*)(int, const struct iovec*, int)>("writev");
  if (disk_full(fd)) return 0;
  wrote_since_sync = true;
  return real(fd, iov, n);
}

int fdatasync(int fd) {
  static auto real = next<int (*)(int)>("fdatasync");
  bool periodic = !wrote_since_sync;
  wrote_since_sync = false;
  if (armed && fault == Fault::SyncEio && periodic) {
    errno = EIO;
    return -1;
  }
  return real(fd);
}

int fsync(int fd) {
  static auto real = next<int (*)(int)>("fsync");
  if (armed && fault == Fault::BackupRace) {
    char link[64], path[4096];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = ::readlink(link, path, sizeof path - 1);
    constexpr char kPartial[] = "/data.mdb.partial";
    constexpr std::size_t kLen = sizeof kPartial - 1;
    if (n > static_cast<ssize_t>(kLen) && std::memcmp(path + n - kLen, kPartial, kLen) == 0) {
      std::memcpy(path + n - kLen, "/data.mdb", sizeof "/data.mdb");
      if (FILE* other = std::fopen(path, "wx")) {
        std::fputs("another database\n", other);
        std::fclose(other);
      }
    }
  }
  if (armed && fault == Fault::FsyncEio && regular_file(fd)) {
    errno = EIO;
    return -1;
  }
  return real(fd);
}

}  // extern "C"

void* operator new(std::size_t size) {
  static auto real = next<void* (*)(std::size_t)>("_Znwm");
  if (armed && fault == Fault::New) throw std::bad_alloc();
  return real(size);
}
