// Stored factor rows as the dense matrices the ranking code multiplies.
#pragma once

#include "model/matrix.hpp"
#include "store/models.hpp"

namespace recsys::rank {

inline model::RowMatrixXf to_matrix(const store::FactorMatrix& m) {
  model::RowMatrixXf out(m.rows, m.cols);
  if (!m.data.empty()) std::copy(m.data.begin(), m.data.end(), out.data());
  return out;
}

}  // namespace recsys::rank
