#include "model/blas_threads.hpp"

#include <cblas.h>

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <stdexcept>

namespace recsys::model {

namespace {

std::mutex blas_mutex;
int holders = 0;  // guarded by blas_mutex
int saved = 1;    // the count before the first holder; guarded by blas_mutex
unsigned granted = 0;  // most callers blas_callers allowed so far (their buffers are mapped); guarded by blas_mutex

constexpr std::uint64_t kBuffer = std::uint64_t{128} << 20;  // OpenBLAS's BUFFER_SIZE on x86-64
// Left for our own allocations while products run (score blocks, heaps).
constexpr std::uint64_t kSlack = std::uint64_t{64} << 20;

// Bytes of address space the process maps now (/proc/self/statm: pages).
std::uint64_t mapped_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long pages = 0;
  if (std::fscanf(f, "%llu", &pages) != 1) pages = 0;
  std::fclose(f);
  return pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

unsigned blas_callers(unsigned wanted) {
  wanted = std::max(1u, wanted);
  rlimit limit{};
  if (::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return wanted;
  std::lock_guard lock(blas_mutex);
  if (wanted <= granted) return wanted;
  const std::uint64_t cap = limit.rlim_cur;
  const std::uint64_t used = mapped_bytes() + kSlack;
  const std::uint64_t more = used < cap ? (cap - used) / kBuffer : 0;
  const unsigned fit = static_cast<unsigned>(std::min<std::uint64_t>(wanted, granted + more));
  if (fit == 0) {
    throw std::runtime_error(fmt::format(
        "the address-space limit (ulimit -v, or LimitAS= of a service) is {} MiB and the process maps {} MiB: "
        "matrix products need {} MiB more for OpenBLAS's buffer (128 MiB per thread); raise the limit",
        cap >> 20, (used - kSlack) >> 20, ((used + kBuffer - cap) >> 20) + 1));
  }
  granted = std::max(granted, fit);
  return fit;
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
