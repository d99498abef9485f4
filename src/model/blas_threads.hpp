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

class BlasThreads {
 public:
  explicit BlasThreads(unsigned threads);
  ~BlasThreads();
  BlasThreads(const BlasThreads&) = delete;
  BlasThreads& operator=(const BlasThreads&) = delete;
};

}  // namespace recsys::model
