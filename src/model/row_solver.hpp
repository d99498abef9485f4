// One row of an ALS half-step: new factors for one user (or item) with the
// other side's factors Y fixed. Shared by training (als.cpp) and fold-in.
#pragma once

#include <cstdint>
#include <span>

#include "model/matrix.hpp"

namespace recsys::model {

// Scratch space reused across rows by one worker thread.
struct RowWorkspace {
  RowMatrixXf gathered;  // the row's Y rows, contiguous (nnz × factors)
  Eigen::VectorXf q, r, p, ap, b;
  Eigen::MatrixXf a;
  void reserve(Eigen::Index nnz, Eigen::Index factors);
};

// Implicit ALS (Hu, Koren & Volinsky 2008, eq. 4): solves
//   (YᵀY + λI + Σ_j w_j y_j y_jᵀ) x = Σ_j (1 + w_j) y_j
// where w_j = c_j - 1 for the observed columns `idx` and `gram` = YᵀY + λI.
// Conjugate gradient (Takács, Pilászy & Tikk 2011): `steps` CG iterations warm
// started from the current x, without ever forming the factors × factors system.
// With AVX2 and a factor count that is a multiple of 8, the passes over the
// row's Y rows run in fused_cg.cpp's kernels; otherwise in Eigen.
void implicit_cg(const RowMatrixXf& y, const Eigen::MatrixXf& gram, std::span<const std::uint32_t> idx,
                 std::span<const float> w, float* x, unsigned steps, RowWorkspace& ws);

// The same system solved exactly (Cholesky), or with x >= 0 when `nonnegative`.
void implicit_exact(const RowMatrixXf& y, const Eigen::MatrixXf& gram, std::span<const std::uint32_t> idx,
                    std::span<const float> w, float* x, bool nonnegative, RowWorkspace& ws);

// Explicit ALS with weighted-λ regularisation (Zhou et al. 2008, as Spark MLlib):
//   (Σ_j y_j y_jᵀ + λ n I) x = Σ_j r_j y_j, n = |idx|; x >= 0 when `nonnegative`.
void explicit_exact(const RowMatrixXf& y, float lambda, std::span<const std::uint32_t> idx,
                    std::span<const float> r, float* x, bool nonnegative, RowWorkspace& ws);

// Non-negative least squares on the normal equations: min ½xᵀAx − bᵀx, x >= 0,
// by cyclic coordinate descent warm started from max(x, 0) (A symmetric positive
// definite; each coordinate step is exact, so the objective never increases).
void nnls_coordinate_descent(const Eigen::MatrixXf& a, const Eigen::VectorXf& b, Eigen::Ref<Eigen::VectorXf> x);

}  // namespace recsys::model
