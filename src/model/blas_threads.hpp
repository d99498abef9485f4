// OpenBLAS's thread count is one setting for the whole process. Code that
// needs a count for a while holds a BlasThreads: BLAS single-threaded while
// our own workers each multiply a block (rank/topk.cpp), or every thread for
// one EASE fit (model/ease.cpp). The first holder saves the count, each holder
// sets its own, and the last one out restores the saved count; one mutex
// orders the calls. Without the count of holders, two overlapping holders
// (two tune trials scoring at once) restored each other's values: one left
// BLAS multi-threaded under the other's running product. Overlapping holders
// must want the same count: ranking always wants 1, and EASE fits run alone
// (tune/runner.hpp).
#pragma once

namespace recsys::model {

// OpenBLAS (Debian 12's 0.3.21) gives each thread inside a BLAS call a
// 128 MiB buffer from a pool it keeps, and when mmap refuses one (an
// address-space limit: ulimit -v, systemd's LimitAS=) it retries forever at
// full CPU. Returns how many of `wanted` threads may be inside BLAS at once:
// all of them without such a limit; under one, as many as have buffers
// already plus those whose buffers fit beside what the process maps now.
// Throws std::runtime_error naming the limit when not even one fits.
// (main() also starts OpenBLAS without worker threads under such a limit:
// each takes its buffer when it starts, and a refused one hung even --version.)
unsigned blas_callers(unsigned wanted);

class BlasThreads {
 public:
  explicit BlasThreads(unsigned threads);
  ~BlasThreads();
  BlasThreads(const BlasThreads&) = delete;
  BlasThreads& operator=(const BlasThreads&) = delete;
};

}  // namespace recsys::model
