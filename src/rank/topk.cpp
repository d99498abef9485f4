#include "rank/topk.hpp"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "model/blas_threads.hpp"
#include "rank/factors.hpp"
#include "util/parallel.hpp"

namespace recsys::rank {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();


// Per-worker buffers, allocated once per run (no allocation per block).
struct Worker {
  std::vector<float> queries;  // gathered query rows of one block
  std::vector<float> scores;   // block × tile products
  std::vector<TopK> heaps;
  std::vector<std::span<const std::uint32_t>> excluded;
  std::vector<Scored> sorted;
};

// Sets the scores of excluded targets inside [first, first + n) to -inf.
void mask(float* scores, std::size_t first, std::size_t n, std::span<const std::uint32_t> excluded) {
  auto it = std::lower_bound(excluded.begin(), excluded.end(), static_cast<std::uint32_t>(first));
  for (; it != excluded.end() && *it < first + n; ++it) scores[*it - first] = -kInf;
}

}  // namespace

void TopK::reset(std::size_t k) {
  k_ = k;
  heap_.clear();
  heap_.reserve(k);
  threshold_ = k == 0 ? kInf : -kInf;
}

void TopK::push(std::uint32_t index, float score) {
  // While not full the threshold is -inf; -inf, +inf and NaN never enter.
  if (!(score > threshold_) || !std::isfinite(score)) return;
  Scored s{index, score};
  if (heap_.size() < k_) {
    heap_.push_back(s);
    std::push_heap(heap_.begin(), heap_.end(), ranks_before);
    if (heap_.size() < k_) return;
  } else {
    std::pop_heap(heap_.begin(), heap_.end(), ranks_before);
    heap_.back() = s;
    std::push_heap(heap_.begin(), heap_.end(), ranks_before);
  }
  threshold_ = heap_.front().score;
}

void TopK::push_row(const float* scores, std::size_t n, std::uint32_t first_index) {
  std::size_t j = 0;
  // Fill the heap with the first candidates, then skip 32 scores at a time
  // while none beats the threshold (almost always, once the heap holds good items).
  while (j < n && heap_.size() < k_) {
    push(first_index + static_cast<std::uint32_t>(j), scores[j]);
    ++j;
  }
#if defined(__AVX2__)
  for (; j + 32 <= n; j += 32) {
    __m256 t = _mm256_set1_ps(threshold_);
    __m256 a = _mm256_cmp_ps(_mm256_loadu_ps(scores + j), t, _CMP_GT_OQ);
    __m256 b = _mm256_cmp_ps(_mm256_loadu_ps(scores + j + 8), t, _CMP_GT_OQ);
    __m256 c = _mm256_cmp_ps(_mm256_loadu_ps(scores + j + 16), t, _CMP_GT_OQ);
    __m256 d = _mm256_cmp_ps(_mm256_loadu_ps(scores + j + 24), t, _CMP_GT_OQ);
    if (_mm256_movemask_ps(_mm256_or_ps(_mm256_or_ps(a, b), _mm256_or_ps(c, d))) == 0) continue;
    for (std::size_t i = j; i < j + 32; ++i) push(first_index + static_cast<std::uint32_t>(i), scores[i]);
  }
#endif
  for (; j < n; ++j) {
    if (scores[j] > threshold_) push(first_index + static_cast<std::uint32_t>(j), scores[j]);
  }
}

void TopK::take_sorted(std::vector<Scored>& out) {
  std::sort_heap(heap_.begin(), heap_.end(), ranks_before);
  out.assign(heap_.begin(), heap_.end());
  reset(k_);
}

TopKLists top_k_products(const model::RowMatrixXf& queries, const model::RowMatrixXf& targets,
                         std::span<const std::uint32_t> rows, const ExcludeFn& exclude,
                         const BlockOptions& options) {
  if (queries.cols() != targets.cols()) {
    throw std::invalid_argument("user and item factors have different widths");
  }
  const std::size_t n_rows = rows.size();
  const std::size_t n_targets = static_cast<std::size_t>(targets.rows());
  const std::size_t f = static_cast<std::size_t>(queries.cols());
  const std::size_t k = std::min(options.k, n_targets);  // a list holds each target at most once
  TopKLists out;
  out.k = k;
  out.entries.resize(n_rows * k);
  out.counts.assign(n_rows, 0);
  if (k == 0 || n_rows == 0 || n_targets == 0 || f == 0) return out;

  const std::size_t qb = std::max<std::size_t>(1, options.query_block);
  const std::size_t tile = std::min(n_targets, std::max<std::size_t>(32, options.target_tile));
  const std::size_t blocks = (n_rows + qb - 1) / qb;
  // Each worker's products take an OpenBLAS buffer: fewer workers when an
  // address-space limit leaves room for fewer (model/blas_threads.hpp).
  const model::BlasLease lease(
      static_cast<unsigned>(std::max<std::size_t>(1, std::min<std::size_t>(options.threads, blocks))));
  const unsigned threads = lease.count();
  std::vector<Worker> workers(threads);
  for (auto& w : workers) {
    w.queries.resize(qb * f);
    w.scores.resize(qb * tile);
    w.heaps.assign(qb, TopK(k));
    w.excluded.resize(qb);
  }
  // OpenBLAS would start its own threads inside every call; our workers each
  // multiply their own block, so BLAS runs single-threaded meanwhile.
  model::BlasThreads blas(1);
  std::atomic<bool> stopped{false};
  parallel_dynamic(blocks, threads, 1, [&](std::size_t b0, std::size_t b1, unsigned worker_index) {
    Worker& w = workers[worker_index];
    for (std::size_t b = b0; b < b1; ++b) {
      if (options.keep_going && (stopped.load(std::memory_order_relaxed) || !options.keep_going())) {
        stopped.store(true, std::memory_order_relaxed);
        return;
      }
      const std::size_t r0 = b * qb;
      const std::size_t nb = std::min(qb, n_rows - r0);
      for (std::size_t i = 0; i < nb; ++i) {
        std::size_t row = rows[r0 + i];
        std::copy_n(queries.data() + row * f, f, w.queries.data() + i * f);
        w.excluded[i] = exclude ? exclude(row) : std::span<const std::uint32_t>{};
      }
      for (std::size_t t0 = 0; t0 < n_targets; t0 += tile) {
        const std::size_t tn = std::min(tile, n_targets - t0);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(nb), static_cast<int>(tn),
                    static_cast<int>(f), 1.0f, w.queries.data(), static_cast<int>(f), targets.data() + t0 * f,
                    static_cast<int>(f), 0.0f, w.scores.data(), static_cast<int>(tn));
        for (std::size_t i = 0; i < nb; ++i) {
          float* s = w.scores.data() + i * tn;
          mask(s, t0, tn, w.excluded[i]);
          mask(s, t0, tn, options.no_targets);
          w.heaps[i].push_row(s, tn, static_cast<std::uint32_t>(t0));
        }
      }
      for (std::size_t i = 0; i < nb; ++i) {
        w.heaps[i].take_sorted(w.sorted);
        std::copy(w.sorted.begin(), w.sorted.end(), out.entries.begin() + static_cast<std::ptrdiff_t>((r0 + i) * k));
        out.counts[r0 + i] = static_cast<std::uint32_t>(w.sorted.size());
      }
    }
  });
  if (stopped.load()) throw ProductsStopped{};
  return out;
}

std::vector<Scored> top_k_single(std::span<const float> query, const model::RowMatrixXf& targets,
                                 std::span<const std::uint32_t> exclude, std::size_t k,
                                 std::span<const std::uint32_t> no_targets) {
  if (static_cast<Eigen::Index>(query.size()) != targets.cols()) {
    throw std::invalid_argument("factor vector and item factors have different widths");
  }
  Eigen::Map<const Eigen::VectorXf> q(query.data(), static_cast<Eigen::Index>(query.size()));
  Eigen::VectorXf scores = targets * q;
  mask(scores.data(), 0, static_cast<std::size_t>(scores.size()), exclude);
  mask(scores.data(), 0, static_cast<std::size_t>(scores.size()), no_targets);
  TopK top(k);
  top.push_row(scores.data(), static_cast<std::size_t>(scores.size()), 0);
  std::vector<Scored> out;
  top.take_sorted(out);
  return out;
}

std::vector<std::uint32_t> rows_without_factors(const model::RowMatrixXf& m) {
  std::vector<std::uint32_t> out;
  for (Eigen::Index r = 0; r < m.rows(); ++r) {
    if (!has_factors(m.row(r))) out.push_back(static_cast<std::uint32_t>(r));
  }
  return out;
}

model::RowMatrixXf normalized_rows(const model::RowMatrixXf& m) {
  model::RowMatrixXf out = m;
  for (Eigen::Index r = 0; r < out.rows(); ++r) {
    float norm = out.row(r).norm();
    if (norm > 0.0f) out.row(r) /= norm;
  }
  return out;
}

}  // namespace recsys::rank
