#include "model/row_solver.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "model/cg_steps.hpp"
#include "model/fused_cg.hpp"

namespace recsys::model {

namespace {

using VecMap = Eigen::Map<Eigen::VectorXf>;

// max |v_j| as a plain loop: GCC 12 warns (maybe-uninitialized, inside its own
// AVX-512 intrinsics) on Eigen's vectorised maxCoeff of a cwiseAbs.
template <typename V>
float max_abs(const V& v) {
  float m = 0.0f;
  for (Eigen::Index j = 0; j < v.size(); ++j) m = std::max(m, std::abs(v[j]));
  return m;
}

// Copies the rows of y named by idx into ws.gathered so the CG passes stream
// through contiguous memory instead of gathering scattered rows every pass.
void gather(const RowMatrixXf& y, std::span<const std::uint32_t> idx, RowWorkspace& ws) {
  const auto n = static_cast<Eigen::Index>(idx.size());
  const auto f = y.cols();
  ws.reserve(n, f);
  // The rows are scattered over a matrix larger than the caches (the item
  // side gathers 140k × 64 user factors): prefetching a few rows ahead keeps
  // several cache misses in flight instead of one (perf: gather dominated).
  constexpr Eigen::Index kAhead = 8;
  const auto row_bytes = static_cast<Eigen::Index>(f * sizeof(float));
  for (Eigen::Index j = 0; j < n; ++j) {
    if (j + kAhead < n) {
      const char* ahead = reinterpret_cast<const char*>(y.row(idx[j + kAhead]).data());
      for (Eigen::Index b = 0; b < row_bytes; b += 64) __builtin_prefetch(ahead + b);
    }
    ws.gathered.row(j) = y.row(idx[j]);
  }
}

// Solves a x = b for symmetric positive (semi)definite a, in place on x. A
// singular system (λ = 0 and fewer ratings than factors) gets a tiny ridge
// rather than NaN.
void solve_spd(Eigen::MatrixXf& a, const Eigen::VectorXf& b, float* x, bool nonnegative) {
  const auto f = a.rows();
  VecMap xv(x, f);
  if (nonnegative) {
    // Coordinate descent clamps with max(0, ·), which turns NaN into 0: a
    // system that is not finite would give a silent zero row where the other
    // solvers give NaN, which training reports as diverged.
    if (!a.allFinite() || !b.allFinite()) {
      xv.setConstant(std::numeric_limits<float>::quiet_NaN());
      return;
    }
    nnls_coordinate_descent(a, b, xv);
    return;
  }
  Eigen::LLT<Eigen::MatrixXf> llt(a);
  if (llt.info() != Eigen::Success) {
    float ridge = 1e-6f * std::max(1e-6f, max_abs(a.diagonal()));
    a.diagonal().array() += ridge;
    llt.compute(a);
  }
  xv = llt.solve(b);
}

}  // namespace

void RowWorkspace::reserve(Eigen::Index nnz, Eigen::Index factors) {
  if (gathered.rows() < nnz || gathered.cols() != factors)
    gathered.resize(std::max(nnz, gathered.rows()), factors);
  if (q.size() < nnz) q.resize(std::max(nnz, q.size()));
  if (r.size() != factors) {
    r.resize(factors);
    p.resize(factors);
    ap.resize(factors);
    b.resize(factors);
    a.resize(factors, factors);
  }
}

void implicit_cg(const RowMatrixXf& y, const Eigen::MatrixXf& gram, std::span<const std::uint32_t> idx,
                 std::span<const float> w, float* x, unsigned steps, RowWorkspace& ws) {
  const auto f = y.cols();
  const auto n = static_cast<Eigen::Index>(idx.size());
  VecMap xv(x, f);
  if (n == 0) {  // no observations: the minimiser is 0
    xv.setZero();
    return;
  }
  if (fused_cg_available(f)) {
    fused_cg_row(y, gram, idx, w, x, steps, ws);
    return;
  }
  gather(y, idx, ws);
  auto yu = ws.gathered.topRows(n);
  Eigen::Map<const Eigen::VectorXf> wv(w.data(), n);
  auto q = ws.q.head(n);
  // residual r = b - A x = Yᵤᵀ((1 + w) - w ⊙ Yᵤx) - (YᵀY + λI) x
  q.noalias() = yu * xv;
  q = (1.0f + wv.array() - wv.array() * q.array()).matrix();
  ws.r.noalias() = yu.transpose() * q;
  ws.r.noalias() -= gram * xv;
  cg_steps(xv, steps, ws, [&](const Eigen::VectorXf& p, Eigen::VectorXf& ap) {
    // A p = (YᵀY + λI) p + Yᵤᵀ(w ⊙ Yᵤp)
    q.noalias() = yu * p;
    q.array() *= wv.array();
    ap.noalias() = gram * p;
    ap.noalias() += yu.transpose() * q;
  });
}

void implicit_exact(const RowMatrixXf& y, const Eigen::MatrixXf& gram, std::span<const std::uint32_t> idx,
                    std::span<const float> w, float* x, bool nonnegative, RowWorkspace& ws) {
  const auto f = y.cols();
  const auto n = static_cast<Eigen::Index>(idx.size());
  ws.reserve(n, f);
  if (n == 0) {
    VecMap(x, f).setZero();
    return;
  }
  // A = YᵀY + λI + Σ w_j y_j y_jᵀ as a rank-n update with rows scaled by √w_j
  // (w_j >= 0), b = Σ (1 + w_j) y_j.
  ws.a = gram;
  ws.b.setZero();
  for (Eigen::Index j = 0; j < n; ++j) {
    auto row = y.row(idx[j]);
    ws.gathered.row(j) = std::sqrt(std::max(0.0f, w[j])) * row;
    ws.b.noalias() += (1.0f + w[j]) * row.transpose();
  }
  auto scaled = ws.gathered.topRows(n);
  ws.a.selfadjointView<Eigen::Lower>().rankUpdate(scaled.transpose());
  ws.a.triangularView<Eigen::StrictlyUpper>() = ws.a.transpose();
  solve_spd(ws.a, ws.b, x, nonnegative);
}

void explicit_exact(const RowMatrixXf& y, float lambda, std::span<const std::uint32_t> idx,
                    std::span<const float> r, float* x, bool nonnegative, RowWorkspace& ws) {
  const auto f = y.cols();
  const auto n = static_cast<Eigen::Index>(idx.size());
  if (n == 0) {
    VecMap(x, f).setZero();
    return;
  }
  gather(y, idx, ws);
  auto yu = ws.gathered.topRows(n);
  Eigen::Map<const Eigen::VectorXf> rv(r.data(), n);
  ws.a.setZero();
  ws.a.selfadjointView<Eigen::Lower>().rankUpdate(yu.transpose());
  ws.a.triangularView<Eigen::StrictlyUpper>() = ws.a.transpose();
  ws.a.diagonal().array() += lambda * static_cast<float>(n);
  ws.b.noalias() = yu.transpose() * rv;
  solve_spd(ws.a, ws.b, x, nonnegative);
}

void nnls_coordinate_descent(const Eigen::MatrixXf& a, const Eigen::VectorXf& b, Eigen::Ref<Eigen::VectorXf> x) {
  constexpr int kMaxSweeps = 500;
  constexpr float kTolerance = 1e-6f;
  const auto f = a.rows();
  for (Eigen::Index j = 0; j < f; ++j) x[j] = std::max(0.0f, x[j]);
  Eigen::VectorXf g = a * x - b;  // gradient of ½xᵀAx − bᵀx
  for (int sweep = 0; sweep < kMaxSweeps; ++sweep) {
    float max_delta = 0.0f;
    for (Eigen::Index j = 0; j < f; ++j) {
      float ajj = a(j, j);
      if (!(ajj > 0.0f)) continue;
      float xn = std::max(0.0f, x[j] - g[j] / ajj);
      float d = xn - x[j];
      if (d != 0.0f) {
        x[j] = xn;
        g.noalias() += d * a.col(j);
        max_delta = std::max(max_delta, std::abs(d));
      }
    }
    if (max_delta <= kTolerance * std::max(1.0f, max_abs(x))) break;
  }
}

}  // namespace recsys::model
