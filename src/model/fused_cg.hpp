// Implicit ALS by conjugate gradient with hand-written AVX2/FMA passes: the
// fast path behind implicit_cg (row_solver.hpp) when the build targets AVX2
// and the factor count is a multiple of 8. The same iteration as the Eigen
// path in row_solver.cpp; only the order of the floating-point sums differs.
#pragma once

#include <cstdint>
#include <span>

#include "model/matrix.hpp"
#include "model/row_solver.hpp"

namespace recsys::model {

// True when this build has the fused kernels and they handle `factors`.
bool fused_cg_available(Eigen::Index factors);

// One row, as implicit_cg (row_solver.hpp); requires fused_cg_available.
void fused_cg_row(const RowMatrixXf& y, const Eigen::MatrixXf& gram, std::span<const std::uint32_t> idx,
                  std::span<const float> w, float* x, unsigned steps, RowWorkspace& ws);

}  // namespace recsys::model
