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
// full CPU. A BlasLease is held around every stretch of BLAS calls and says
// how many threads may be inside BLAS at once (count()):
// - without such a limit, all `wanted`, and nothing is counted;
// - under one, as many as there are pool buffers no other lease holds, plus
//   new ones that fit beside what the process maps now and the stacks of the
//   threads the caller starts (glibc's default size, which follows ulimit -s;
//   none for one: it runs on the caller); while none can be
//   had and other leases hold some, it waits for them; when none can be had
//   at all, it throws std::runtime_error naming the limit. A lease for one
//   call on several OpenBLAS threads (`openblas_threads`: EASE) gets 1 there:
//   OpenBLAS's own threads keep their buffers for good.
// main() also starts OpenBLAS without worker threads under such a limit (each
// takes its buffer when it starts, and a refused one hung even --version) and
// caps glibc's malloc arenas, which reserve 64 MiB of address space each.
// State: one mutex and condition variable in blas_threads.cpp.
class BlasLease {
 public:
  explicit BlasLease(unsigned wanted, bool openblas_threads = false);
  ~BlasLease();
  BlasLease(const BlasLease&) = delete;
  BlasLease& operator=(const BlasLease&) = delete;
  unsigned count() const { return count_; }

 private:
  unsigned count_ = 1;
  bool counted_ = false;
};

class BlasThreads {
 public:
  explicit BlasThreads(unsigned threads);
  ~BlasThreads();
  BlasThreads(const BlasThreads&) = delete;
  BlasThreads& operator=(const BlasThreads&) = delete;
};

}  // namespace recsys::model
