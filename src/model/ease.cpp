#include "model/ease.hpp"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "model/blas_threads.hpp"
#include "model/confidence.hpp"
#include "util/log.hpp"
#include "util/parallel.hpp"
#include "util/timer.hpp"

// LAPACK in OpenBLAS (Debian's libopenblas0 carries the LAPACK symbols; no
// LAPACKE header is needed for two routines). Fortran calling convention: all
// arguments by pointer, plus the hidden length of each character argument.
extern "C" {
void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info, std::size_t uplo_len);
void spotri_(const char* uplo, const int* n, float* a, const int* lda, int* info, std::size_t uplo_len);
}

namespace recsys::model {

namespace {

// Dense blocks of X hold at most this many floats (64 MiB) during syrk.
constexpr std::size_t kDenseBlockFloats = std::size_t{16} << 20;

// XᵀX by scattered updates, one row of G per item: G_i· = Σ_{u rated i} x_ui·x_u.
// Each row is owned by one worker and summed over users in index order, so the
// result does not depend on the thread count. Costs Σ_u |x_u|² updates.
RowMatrixXf gram_sparse(const Csr& x, unsigned threads) {
  std::vector<std::uint32_t> row_of(x.nnz());
  for (std::uint32_t u = 0; u < x.rows; ++u)
    for (auto j = x.offsets[u]; j < x.offsets[u + 1]; ++j) row_of[j] = u;
  Csr by_item = build_csr(x.cols, x.rows, x.indices, row_of, x.values);
  std::vector<std::uint32_t>().swap(row_of);
  RowMatrixXf g = RowMatrixXf::Zero(x.cols, x.cols);
  parallel_dynamic(x.cols, threads, 16, [&](std::size_t b, std::size_t e, unsigned) {
    for (std::size_t i = b; i < e; ++i) {
      float* gi = g.data() + i * x.cols;
      auto users = by_item.row_indices(static_cast<std::uint32_t>(i));
      auto xi = by_item.row_values(static_cast<std::uint32_t>(i));
      for (std::size_t t = 0; t < users.size(); ++t) {
        auto cols = x.row_indices(users[t]);
        auto vals = x.row_values(users[t]);
        for (std::size_t s = 0; s < cols.size(); ++s) gi[cols[s]] += xi[t] * vals[s];
      }
    }
  });
  return g;
}

// XᵀX with SSYRK on dense blocks of users (zeros included): users·items²
// multiply-adds at the machine's matrix-multiply peak.
RowMatrixXf gram_dense(const Csr& x, unsigned threads) {
  const std::size_t n = x.cols;
  RowMatrixXf g = RowMatrixXf::Zero(n, n);
  if (n == 0 || x.rows == 0) return g;
  const std::size_t block = std::clamp<std::size_t>(kDenseBlockFloats / n, 1, x.rows);
  std::vector<float> dense(block * n);
  const BlasLease lease(threads, true);  // model/blas_threads.hpp
  BlasThreads blas(lease.count());
  for (std::size_t u0 = 0; u0 < x.rows; u0 += block) {
    const std::size_t m = std::min<std::size_t>(block, x.rows - u0);
    std::fill(dense.begin(), dense.end(), 0.0f);
    for (std::size_t r = 0; r < m; ++r) {
      auto u = static_cast<std::uint32_t>(u0 + r);
      auto cols = x.row_indices(u);
      auto vals = x.row_values(u);
      for (std::size_t s = 0; s < cols.size(); ++s) dense[r * n + cols[s]] = vals[s];
    }
    cblas_ssyrk(CblasRowMajor, CblasLower, CblasTrans, static_cast<int>(n), static_cast<int>(m), 1.0f, dense.data(),
                static_cast<int>(n), 1.0f, g.data(), static_cast<int>(n));
  }
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) g(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) =
        g(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(i));
  return g;
}

// Sparse updates run roughly this many times slower than SSYRK's multiply-adds
// (scattered writes into a row of G against a cache-blocked kernel; measured
// 13-14 on MovieLens 100k and a 30 % dense synthetic set, docs/training.md).
constexpr double kSparseUpdateCost = 13.0;

GramMethod choose_method(const Csr& x) {
  double sparse = 0;
  for (std::uint32_t u = 0; u < x.rows; ++u) sparse += static_cast<double>(x.row_size(u)) * static_cast<double>(x.row_size(u));
  const double dense = static_cast<double>(x.rows) * static_cast<double>(x.cols) * static_cast<double>(x.cols) / 2.0;
  return sparse * kSparseUpdateCost < dense ? GramMethod::Sparse : GramMethod::DenseSyrk;
}

}  // namespace

EaseParams ease_params_of(const ModelParams& p) {
  EaseParams e;
  e.lambda = p.regularization;
  e.confidence = p.confidence;
  e.alpha = p.alpha;
  e.epsilon = p.epsilon > 0.0f ? p.epsilon : 1.0f;
  return e;
}

float ease_input(const EaseParams& p, float r) {
  if (p.confidence == Confidence::Binary) return 1.0f;
  return 1.0f + confidence_excess(p.confidence, p.alpha, p.epsilon, r);
}

Csr build_ease_input(const EaseParams& p, std::uint32_t n_users, std::uint32_t n_items,
                     std::span<const std::uint32_t> users, std::span<const std::uint32_t> items,
                     std::span<const float> values) {
  std::vector<float> x(values.size());
  for (std::size_t j = 0; j < values.size(); ++j) x[j] = ease_input(p, values[j]);
  return build_csr(n_users, n_items, users, items, x);
}

RowMatrixXf ease_gram(const Csr& x_by_user, unsigned threads, GramMethod method) {
  if (method == GramMethod::Auto) method = choose_method(x_by_user);
  return method == GramMethod::Sparse ? gram_sparse(x_by_user, threads) : gram_dense(x_by_user, threads);
}

RowMatrixXf fit_ease(const EaseParams& p, const Csr& x_by_user, unsigned threads, GramMethod method) {
  if (!(p.lambda > 0.0f) || !std::isfinite(p.lambda))
    throw std::invalid_argument(fmt::format("EASE needs a regularization λ > 0 (got {})", p.lambda));
  Timer timer;
  if (method == GramMethod::Auto) method = choose_method(x_by_user);
  RowMatrixXf g = ease_gram(x_by_user, threads, method);
  log::debug("EASE: XᵀX ({} × {}) by {} in {:.3f} s", g.rows(), g.cols(),
             method == GramMethod::Sparse ? "sparse updates" : "dense SSYRK", timer.seconds());
  timer.reset();
  const int n = static_cast<int>(g.rows());
  if (n == 0) return g;
  // Confidence-weighted input can overflow float32 in XᵀX; LAPACK would then
  // either fail as if λ were too small or return NaN weights that rank nothing.
  if (!g.allFinite())
    throw std::runtime_error(
        fmt::format("EASE: XᵀX is not finite in float32 (the weighted input values are too large); {}",
                    p.confidence == Confidence::Binary ? "lower --alpha"
                    : p.confidence == Confidence::Log  ? "lower --alpha, or use --confidence binary"
                                                       : "lower --alpha, or use --confidence binary or log"));
  g.diagonal().array() += p.lambda;
  // Debian's OpenBLAS 0.3.21 crashes (SIGSEGV in strsm_kernel_RT_PRESCOTT,
  // inside spotrf) on odd orders when it runs single-threaded on the Prescott
  // kernels these machines select; even orders never did (every even order
  // 200-1400 measured, docs/training.md "EASE"). So the factorisation runs on
  // G padded to a multiple of 16 with an identity block: diag(G, I)⁻¹ is
  // diag(G⁻¹, I), and B is read from the top-left block. The padded copy
  // exists beside G only while it is filled (the store's peak is as large).
  const int order = (n + 15) / 16 * 16;
  if (order != n) {
    RowMatrixXf padded = RowMatrixXf::Zero(order, order);
    padded.topLeftCorner(n, n) = g;
    padded.diagonal().tail(order - n).setOnes();
    g = std::move(padded);
  }

  // P = G⁻¹ by Cholesky, in place. G is symmetric, so its row-major storage is
  // also its column-major storage; LAPACK's lower triangle is our upper one.
  {
    const BlasLease lease(threads, true);  // model/blas_threads.hpp
    BlasThreads blas(lease.count());
    int info = 0;
    spotrf_("L", &order, g.data(), &order, &info, 1);
    if (info != 0)
      throw std::runtime_error(fmt::format("EASE: Cholesky factorisation of XᵀX + λI failed (LAPACK spotrf info {}); "
                                           "try a larger --regularization",
                                           info));
    spotri_("L", &order, g.data(), &order, &info, 1);
    if (info != 0) throw std::runtime_error(fmt::format("EASE: inverting XᵀX + λI failed (LAPACK spotri info {})", info));
  }
  log::debug("EASE: Cholesky inverse (LAPACK spotrf + spotri) in {:.3f} s", timer.seconds());
  timer.reset();
  // B_ij = −P_ij / P_jj (P from its upper triangle), B_jj = 0.
  // Only the top-left n × n block (the items; the rest is the padding).
  Eigen::VectorXf inv_diag = g.diagonal().cwiseInverse();
  const std::size_t un = static_cast<std::size_t>(n), stride = static_cast<std::size_t>(order);
  parallel_dynamic(un, threads, 64, [&](std::size_t b, std::size_t e, unsigned) {
    for (std::size_t i = b; i < e; ++i) {
      float* row = g.data() + i * stride;
      // Mirror: writes only the strictly lower triangle, reads only the
      // strictly upper one, so rows can be done in any order.
      for (std::size_t j = 0; j < i; ++j) row[j] = g.data()[j * stride + i];
    }
  });
  parallel_dynamic(un, threads, 64, [&](std::size_t b, std::size_t e, unsigned) {
    for (std::size_t i = b; i < e; ++i) {
      float* row = g.data() + i * stride;
      for (std::size_t j = 0; j < un; ++j) row[j] = -row[j] * inv_diag[static_cast<Eigen::Index>(j)];
      row[i] = 0.0f;
    }
  });
  log::debug("EASE: B from P in {:.3f} s", timer.seconds());
  if (order == n) return g;
  RowMatrixXf b = g.topLeftCorner(n, n);
  return b;
}

void ease_scores(const RowMatrixXf& b, std::span<const std::uint32_t> items, std::span<const float> x,
                 std::span<float> scores) {
  if (scores.size() != static_cast<std::size_t>(b.cols()))
    throw std::invalid_argument("ease_scores: the score vector and B differ in width");
  std::fill(scores.begin(), scores.end(), 0.0f);
  const std::size_t n = scores.size();
  for (std::size_t t = 0; t < items.size() && t < x.size(); ++t) {
    if (items[t] >= static_cast<std::size_t>(b.rows())) continue;
    const float* row = b.data() + static_cast<std::size_t>(items[t]) * n;
    const float w = x[t];
    for (std::size_t j = 0; j < n; ++j) scores[j] += w * row[j];
  }
}

std::size_t ease_memory_bytes(std::size_t n_items) {
  return n_items * n_items * sizeof(float) + n_items * sizeof(float);
}

}  // namespace recsys::model
