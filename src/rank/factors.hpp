// Stored factor rows as the dense matrices the ranking code multiplies.
#pragma once

#include <algorithm>
#include <cstdint>

#include "model/matrix.hpp"
#include "store/models.hpp"

namespace recsys::rank {

inline model::RowMatrixXf to_matrix(const store::FactorMatrix& m) {
  model::RowMatrixXf out(m.rows, m.cols);
  if (!m.data.empty()) std::copy(m.data.begin(), m.data.end(), out.data());
  return out;
}

// An EASE generation's B (items × items, stored as the item rows), read row by
// row straight into the matrix: B is the one large object, so it is never held
// twice. Rows that are missing stay zero.
inline model::RowMatrixXf load_ease_weights(const store::Database& db, const store::Txn& txn,
                                            std::uint32_t generation) {
  auto first = store::load_factor_row(db, txn, generation, store::Side::Items, 0);
  const auto n = static_cast<Eigen::Index>(first ? first->size() : 0);
  model::RowMatrixXf b = model::RowMatrixXf::Zero(n, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    auto row = i == 0 ? std::move(first) : store::load_factor_row(db, txn, generation, store::Side::Items,
                                                                   static_cast<std::uint32_t>(i));
    if (row && static_cast<Eigen::Index>(row->size()) == n) std::copy(row->begin(), row->end(), b.row(i).data());
  }
  return b;
}

}  // namespace recsys::rank
