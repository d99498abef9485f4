#include "model/blas_threads.hpp"

#include <cblas.h>

#include <fmt/format.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>

namespace recsys::model {

namespace {

std::mutex blas_mutex;
int holders = 0;  // guarded by blas_mutex
int saved = 1;    // the count before the first holder; guarded by blas_mutex
// Buffer accounting of the leases under an address-space limit.
std::mutex lease_mutex;
std::condition_variable lease_released;
unsigned pool = 0;    // OpenBLAS buffers mapped for leases so far; guarded by lease_mutex
unsigned active = 0;  // of which leases hold now; guarded by lease_mutex

constexpr std::uint64_t kBuffer = std::uint64_t{128} << 20;  // OpenBLAS's BUFFER_SIZE on x86-64
// Left for our own allocations while products run (score blocks, heaps), and
// a stack per thread the caller starts.
constexpr std::uint64_t kSlack = std::uint64_t{64} << 20;

// The stack a new thread maps: glibc's default, which follows ulimit -s (8 MiB
// unless set otherwise; a 1 GiB ulimit -s made each thread map 1 GiB, and
// leases counted on 8 MiB granted buffers that did not fit).
std::uint64_t thread_stack() {
  std::size_t size = std::size_t{8} << 20;
  pthread_attr_t attr;
  if (::pthread_getattr_default_np(&attr) == 0) {
    ::pthread_attr_getstacksize(&attr, &size);
    ::pthread_attr_destroy(&attr);
  }
  return size;
}

// Bytes of address space the process maps now (/proc/self/statm: pages);
// nullopt when it cannot be read.
std::optional<std::uint64_t> mapped_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return std::nullopt;
  unsigned long long pages = 0;
  const bool read = std::fscanf(f, "%llu", &pages) == 1;
  std::fclose(f);
  if (!read) return std::nullopt;
  return pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

std::optional<std::uint64_t> address_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return std::nullopt;
  return limit.rlim_cur;
}

}  // namespace

BlasLease::BlasLease(unsigned wanted, bool openblas_threads) {
  wanted = std::max(1u, wanted);
  const auto cap = address_limit();
  if (!cap) {
    count_ = wanted;
    return;
  }
  if (openblas_threads) wanted = 1;
  const std::uint64_t stack = thread_stack();
  std::unique_lock lock(lease_mutex);
  while (true) {
    const unsigned free = pool - active;
    const auto mapped = mapped_bytes();
    // The most threads g <= wanted whose stacks (none for one: the caller's
    // own thread) and buffers not in the pool fit beside what is mapped.
    unsigned grant = 0;
    if (!mapped) {
      // Nothing to measure with: the buffers no lease holds, or one caller, as without threads.
      grant = std::max(std::min(wanted, free), active == 0 ? 1u : 0u);
    } else {
      for (unsigned g = wanted; g >= 1 && grant == 0; --g) {
        const std::uint64_t buffers = g > free ? std::uint64_t{g - free} * kBuffer : 0;
        if (*mapped + kSlack + (g > 1 ? stack * g : 0) + buffers <= *cap) grant = g;
      }
    }
    if (grant > 0) {
      count_ = grant;
      counted_ = true;
      active += grant;
      pool = std::max(pool, active);
      return;
    }
    if (active == 0) {
      const std::uint64_t used = mapped.value_or(0) + kSlack;
      throw std::runtime_error(fmt::format(
          "the address-space limit (ulimit -v, or LimitAS= of a service) is {} MiB and the process maps {} MiB: "
          "matrix products need {} MiB more for OpenBLAS's buffer (128 MiB per thread); raise the limit",
          *cap >> 20, mapped.value_or(0) >> 20, ((used + kBuffer - std::min(*cap, used + kBuffer)) >> 20) + 1));
    }
    lease_released.wait(lock);  // another lease's buffers come free when it ends
  }
}

BlasLease::~BlasLease() {
  if (!counted_) return;
  {
    std::lock_guard lock(lease_mutex);
    active -= count_;
  }
  lease_released.notify_all();
}

BlasThreads::BlasThreads(unsigned threads) {
  std::lock_guard lock(blas_mutex);
  if (holders++ == 0) saved = openblas_get_num_threads();
  openblas_set_num_threads(static_cast<int>(std::max(1u, threads)));
}

BlasThreads::~BlasThreads() {
  std::lock_guard lock(blas_mutex);
  if (--holders == 0) openblas_set_num_threads(saved);
}

}  // namespace recsys::model
