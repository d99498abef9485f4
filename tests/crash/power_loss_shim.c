/* Power-loss journal, LD_PRELOADed into recsys by the power-loss test only.
 *
 * A process kill keeps every write(2) (the page cache survives); a power loss
 * keeps only what was synced, plus any subset of the other dirty pages the
 * kernel happened to write back. To simulate that after a kill -9, this shim
 * records, before each write to the LMDB data file, the 4 KiB pages it is about
 * to change (their pre-images) in a journal file, and marks each completed
 * fsync/fdatasync with the write sequence number it started at. The test then
 * rolls unsynced pages back (tests/crash/power_loss.hpp).
 *
 * What LMDB 0.9.24 (mdb.c) does, and so what is interposed:
 *   - mdb_page_flush writes dirty pages with pwrite (one run) or lseek + writev;
 *   - mdb_env_write_meta writes the meta page tail with pwrite, on the O_DSYNC
 *     descriptor me_mfd unless MDB_NOSYNC/MDB_NOMETASYNC (then on me_fd, unsynced);
 *   - mdb_env_sync calls fdatasync(me_fd) (msync only with MDB_WRITEMAP, unused);
 *   - write() only for the lock file and mdb_env_copy; fsync for copies.
 * A write through an O_DSYNC descriptor is durable when it returns: the shim
 * records it as synced for its pages. msync and sync_file_range get no credit
 * (neither is a durability barrier for this file here).
 *
 * Environment: RECSYS_PL_FILE (the data file), RECSYS_PL_JOURNAL (output).
 * Journal records (native byte order):
 *   'W' u64 seq, u64 page, u64 file size before, u8 hole, 4096 bytes pre-image
 *   'D' u64 seq, u64 page            (an O_DSYNC write: page durable up to seq)
 *   'S' u64 seq, i64 monotonic ns    (a sync that started when `seq` writes were
 *                                     complete has returned: they are durable)
 */
/* Both pwrite and pwrite64 are defined below: no header redirection. */
#undef _FILE_OFFSET_BITS
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* guards everything below */
static int journal = -1;
static int reader = -1; /* pre-images are read here: LMDB's meta descriptor is write-only */
static dev_t target_dev;
static ino_t target_ino;
static int have_target;
static uint64_t seq;

static ssize_t (*real_pwrite)(int, const void*, size_t, off_t);
static ssize_t (*real_write)(int, const void*, size_t);
static ssize_t (*real_writev)(int, const struct iovec*, int);
static ssize_t (*real_pwritev)(int, const struct iovec*, int, off_t);
static int (*real_fdatasync)(int);
static int (*real_fsync)(int);

static void resolve(void) {
  if (real_write) return;
  real_pwrite = dlsym(RTLD_NEXT, "pwrite");
  real_writev = dlsym(RTLD_NEXT, "writev");
  real_pwritev = dlsym(RTLD_NEXT, "pwritev");
  real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
  real_fsync = dlsym(RTLD_NEXT, "fsync");
  real_write = dlsym(RTLD_NEXT, "write");
}

/* Whether fd is the data file (called with the lock held). */
static int is_target(int fd) {
  struct stat st;
  if (!have_target) {
    const char* path = getenv("RECSYS_PL_FILE");
    const char* out = getenv("RECSYS_PL_JOURNAL");
    if (!path || !out || stat(path, &st) != 0) return 0;
    target_dev = st.st_dev;
    target_ino = st.st_ino;
    journal = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    reader = open(path, O_RDONLY | O_CLOEXEC);
    if (journal < 0 || reader < 0) abort(); /* asked to journal and cannot: the test would lie */
    have_target = 1;
  }
  return fstat(fd, &st) == 0 && st.st_dev == target_dev && st.st_ino == target_ino;
}

static void emit(const void* p, size_t n) {
  const char* c = p;
  while (n > 0) {
    ssize_t w = real_write(journal, c, n);
    if (w <= 0) abort(); /* a journal that lost records would make the test lie */
    c += w;
    n -= (size_t)w;
  }
}

/* Records the pre-images of the pages [off, off + len) is about to change. */
static void before_write(int fd, off_t off, size_t len) {
  struct stat st;
  if (len == 0 || fstat(fd, &st) != 0) return;
  uint64_t size = (uint64_t)st.st_size;
  for (uint64_t page = (uint64_t)off / PAGE; page <= ((uint64_t)off + len - 1) / PAGE; ++page) {
    char rec[1 + 8 * 3 + 1 + PAGE];
    memset(rec, 0, sizeof rec);
    rec[0] = 'W';
    memcpy(rec + 1, &seq, 8);
    memcpy(rec + 9, &page, 8);
    memcpy(rec + 17, &size, 8);
    ssize_t got = page * PAGE < size ? pread(reader, rec + 26, PAGE, (off_t)(page * PAGE)) : 0;
    rec[25] = got <= 0; /* a hole: the page was past the end of the file */
    emit(rec, sizeof rec);
  }
}

/* After a write: an O_DSYNC descriptor made its pages durable already. */
static void after_write(int fd, off_t off, size_t len) {
  int flags = fcntl(fd, F_GETFL);
  if (len > 0 && flags >= 0 && (flags & O_DSYNC) == O_DSYNC) {
    for (uint64_t page = (uint64_t)off / PAGE; page <= ((uint64_t)off + len - 1) / PAGE; ++page) {
      char rec[17];
      rec[0] = 'D';
      memcpy(rec + 1, &seq, 8);
      memcpy(rec + 9, &page, 8);
      emit(rec, sizeof rec);
    }
  }
  ++seq;
}

static size_t iov_len(const struct iovec* iov, int n) {
  size_t len = 0;
  for (int i = 0; i < n; ++i) len += iov[i].iov_len;
  return len;
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
  resolve();
  pthread_mutex_lock(&lock);
  if (!is_target(fd)) {
    pthread_mutex_unlock(&lock);
    return real_pwrite(fd, buf, n, off);
  }
  before_write(fd, off, n);
  ssize_t rc = real_pwrite(fd, buf, n, off);
  after_write(fd, off, n);
  pthread_mutex_unlock(&lock);
  return rc;
}
ssize_t pwrite64(int fd, const void* buf, size_t n, off64_t off) { return pwrite(fd, buf, n, (off_t)off); }

ssize_t pwritev(int fd, const struct iovec* iov, int cnt, off_t off) {
  resolve();
  pthread_mutex_lock(&lock);
  if (!is_target(fd)) {
    pthread_mutex_unlock(&lock);
    return real_pwritev(fd, iov, cnt, off);
  }
  size_t len = iov_len(iov, cnt);
  before_write(fd, off, len);
  ssize_t rc = real_pwritev(fd, iov, cnt, off);
  after_write(fd, off, len);
  pthread_mutex_unlock(&lock);
  return rc;
}
ssize_t pwritev64(int fd, const struct iovec* iov, int cnt, off64_t off) { return pwritev(fd, iov, cnt, (off_t)off); }

ssize_t writev(int fd, const struct iovec* iov, int cnt) {
  resolve();
  pthread_mutex_lock(&lock);
  if (!is_target(fd)) {
    pthread_mutex_unlock(&lock);
    return real_writev(fd, iov, cnt);
  }
  off_t off = lseek(fd, 0, SEEK_CUR); /* LMDB seeks before each writev */
  size_t len = iov_len(iov, cnt);
  before_write(fd, off, len);
  ssize_t rc = real_writev(fd, iov, cnt);
  after_write(fd, off, len);
  pthread_mutex_unlock(&lock);
  return rc;
}

ssize_t write(int fd, const void* buf, size_t n) {
  resolve();
  if (fd <= 2) return real_write(fd, buf, n); /* logs: never the data file */
  pthread_mutex_lock(&lock);
  if (!is_target(fd)) {
    pthread_mutex_unlock(&lock);
    return real_write(fd, buf, n);
  }
  off_t off = lseek(fd, 0, SEEK_CUR);
  before_write(fd, off, n);
  ssize_t rc = real_write(fd, buf, n);
  after_write(fd, off, n);
  pthread_mutex_unlock(&lock);
  return rc;
}

/* A completed sync makes every write that had returned before it began durable. */
static int synced(int fd, int (*real)(int)) {
  resolve();
  pthread_mutex_lock(&lock);
  int target = is_target(fd);
  uint64_t start = seq;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  pthread_mutex_unlock(&lock);
  int rc = real(fd);
  if (target && rc == 0) {
    pthread_mutex_lock(&lock);
    char rec[17];
    int64_t ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    rec[0] = 'S';
    memcpy(rec + 1, &start, 8);
    memcpy(rec + 9, &ns, 8);
    emit(rec, sizeof rec);
    pthread_mutex_unlock(&lock);
  }
  return rc;
}

int fdatasync(int fd) {
  resolve();
  return synced(fd, real_fdatasync);
}
int fsync(int fd) {
  resolve();
  return synced(fd, real_fsync);
}
