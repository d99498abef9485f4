#include "model/fused_cg.hpp"

#include <cstring>
#include <stdexcept>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define RECSYS_FUSED_CG 1
#endif

#include "model/cg_steps.hpp"

namespace recsys::model {

#ifndef RECSYS_FUSED_CG

bool fused_cg_available(Eigen::Index) { return false; }
void fused_cg_row(const RowMatrixXf&, const Eigen::MatrixXf&, std::span<const std::uint32_t>, std::span<const float>,
                  float*, unsigned, RowWorkspace&) {
  throw std::logic_error("fused_cg_row: this build has no AVX2/FMA kernels (check fused_cg_available first)");
}

#else

namespace {

// Copies the rows of y named by idx into dst (n × f, contiguous), so the CG
// passes read them from L1/L2 instead of gathering scattered rows each pass.
// The rows are scattered over a matrix larger than the caches (the item side
// reads 140k × 64 user factors): prefetching 8 rows ahead keeps several
// misses in flight (4, 8 and 16 measured; 8 best). Two variants measured
// slower on the 20 M-rating benchmark: copying inside the first pass, and
// copying the next row's rows during this row's passes.
void gather(const RowMatrixXf& y, std::span<const std::uint32_t> idx, float* dst) {
  constexpr Eigen::Index kAhead = 8;
  const auto f = y.cols();
  const auto n = static_cast<Eigen::Index>(idx.size());
  const auto bytes = static_cast<std::size_t>(f) * sizeof(float);
  auto row = [&](Eigen::Index j) { return y.data() + static_cast<Eigen::Index>(idx[j]) * f; };
  for (Eigen::Index j = 0; j < n; ++j) {
    if (j + kAhead < n) {
      // Every cache line of the row: rows need not start on a line (Eigen
      // aligns the matrix to 32 bytes), so 256 bytes may span five.
      const char* ahead = reinterpret_cast<const char*>(row(j + kAhead));
      for (std::size_t b = 0; b < bytes; b += 64) __builtin_prefetch(ahead + b);
      __builtin_prefetch(ahead + bytes - 1);
    }
    std::memcpy(dst + j * f, row(j), bytes);
  }
}

// The four dot products held in acc0..acc3, as one 4-float vector. A row's
// sum runs over its 8-float chunks in order, then across the lanes in the
// same order whichever of the four it is: a row's result does not depend on
// where it falls in a group, nor on threads.
inline __m128 sum4(__m256 acc0, __m256 acc1, __m256 acc2, __m256 acc3) {
  __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(acc0, acc1), _mm256_hadd_ps(acc2, acc3));
  return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

// One CG pass over the row's gathered Yᵤ (n × f, contiguous):
//   out += Σ_j q(j, y_j·v) y_j
// four rows at a time, so each row is read once per pass while it is in L1,
// where the Eigen path reads it twice (Yᵤv, then Yᵤᵀq).
template <typename Q>
void fused_pass(const float* rows, Eigen::Index n, Eigen::Index f, const float* v, float* out, Q q) {
  const Eigen::Index chunks = f / 8;
  Eigen::Index j = 0;
  alignas(16) float d[4];
  for (; j + 4 <= n; j += 4) {
    const float* r0 = rows + j * f;
    const float* r1 = r0 + f;
    const float* r2 = r1 + f;
    const float* r3 = r2 + f;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (Eigen::Index c = 0; c < chunks; ++c) {
      const __m256 vc = _mm256_loadu_ps(v + 8 * c);
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + 8 * c), vc, a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + 8 * c), vc, a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(r2 + 8 * c), vc, a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(r3 + 8 * c), vc, a3);
    }
    _mm_store_ps(d, sum4(a0, a1, a2, a3));
    const __m256 q0 = _mm256_set1_ps(q(j, d[0])), q1 = _mm256_set1_ps(q(j + 1, d[1]));
    const __m256 q2 = _mm256_set1_ps(q(j + 2, d[2])), q3 = _mm256_set1_ps(q(j + 3, d[3]));
    for (Eigen::Index c = 0; c < chunks; ++c) {
      __m256 o = _mm256_loadu_ps(out + 8 * c);
      o = _mm256_fmadd_ps(q0, _mm256_loadu_ps(r0 + 8 * c), o);
      o = _mm256_fmadd_ps(q1, _mm256_loadu_ps(r1 + 8 * c), o);
      o = _mm256_fmadd_ps(q2, _mm256_loadu_ps(r2 + 8 * c), o);
      o = _mm256_fmadd_ps(q3, _mm256_loadu_ps(r3 + 8 * c), o);
      _mm256_storeu_ps(out + 8 * c, o);
    }
  }
  for (; j < n; ++j) {  // the last n % 4 rows, one at a time with the same sums
    const float* r0 = rows + j * f;
    __m256 a0 = _mm256_setzero_ps();
    for (Eigen::Index c = 0; c < chunks; ++c)
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + 8 * c), _mm256_loadu_ps(v + 8 * c), a0);
    _mm_store_ps(d, sum4(a0, a0, a0, a0));
    const __m256 q0 = _mm256_set1_ps(q(j, d[0]));
    for (Eigen::Index c = 0; c < chunks; ++c)
      _mm256_storeu_ps(out + 8 * c, _mm256_fmadd_ps(q0, _mm256_loadu_ps(r0 + 8 * c), _mm256_loadu_ps(out + 8 * c)));
  }
}

}  // namespace

bool fused_cg_available(Eigen::Index factors) { return factors > 0 && factors % 8 == 0; }

void fused_cg_row(const RowMatrixXf& y, const Eigen::MatrixXf& gram, std::span<const std::uint32_t> idx,
                  std::span<const float> w, float* x, unsigned steps, RowWorkspace& ws) {
  const auto f = y.cols();
  const auto n = static_cast<Eigen::Index>(idx.size());
  Eigen::Map<Eigen::VectorXf> xv(x, f);
  if (n == 0) {  // no observations: the minimiser is 0
    xv.setZero();
    return;
  }
  ws.reserve(n, f);
  gather(y, idx, ws.gathered.data());
  const float* rows = ws.gathered.data();
  const float* wp = w.data();
  // The residual as the Eigen path computes it (row_solver.cpp); the steps are shared (cg_steps.hpp).
  // residual r = b - A x = Yᵤᵀ((1 + w) - w ⊙ Yᵤx) - (YᵀY + λI) x
  ws.r.noalias() = -(gram * xv);
  fused_pass(rows, n, f, x, ws.r.data(), [wp](Eigen::Index j, float d) { return 1.0f + wp[j] - wp[j] * d; });
  cg_steps(xv, steps, ws, [&](const Eigen::VectorXf& p, Eigen::VectorXf& ap) {
    // A p = (YᵀY + λI) p + Yᵤᵀ(w ⊙ Yᵤp)
    ap.noalias() = gram * p;
    fused_pass(rows, n, f, p.data(), ap.data(), [wp](Eigen::Index j, float d) { return wp[j] * d; });
  });
}

#endif

}  // namespace recsys::model
