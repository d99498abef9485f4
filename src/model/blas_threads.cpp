#include "model/blas_threads.hpp"

#include <cblas.h>

#include <algorithm>
#include <mutex>

namespace recsys::model {

namespace {

std::mutex blas_mutex;
int holders = 0;  // guarded by blas_mutex
int saved = 1;    // the count before the first holder; guarded by blas_mutex

}  // namespace

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
