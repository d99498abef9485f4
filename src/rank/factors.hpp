// Stored factor rows as the dense matrices the ranking code multiplies.
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "model/matrix.hpp"
#include "store/models.hpp"

namespace recsys::rank {

// Whether a factor row holds any factor: a row of exact zeros is "no factors"
// (a user or item without ratings in the fit, which the solvers give exactly;
// such rows get the fallback). Exact, not Eigen's isZero(): that called rows
// of factors below 1e-5 zero (imported factors, a heavily regularised fit), so
// precompute re-solved imported users and served fallbacks where evaluation
// had scored the model.
template <typename Row>
bool has_factors(const Row& row) {
  return (row.array() != 0.0f).any();
}

inline model::RowMatrixXf to_matrix(const store::FactorMatrix& m) {
  model::RowMatrixXf out(m.rows, m.cols);
  if (!m.data.empty()) std::copy(m.data.begin(), m.data.end(), out.data());
  return out;
}

// An EASE generation's B (items × items, stored as the item rows), read row by
// row straight into the matrix: B is the one large object, so it is never held
// twice. `width` is B's size recorded at training (ModelParams::factors). A
// missing or mis-sized row throws: unlike a factor row, every row of B feeds
// every user's scores, and a damaged row 0 used to make B silently empty (or
// the wrong size), so the whole generation served nothing but fallbacks.
inline model::RowMatrixXf load_ease_weights(const store::Database& db, const store::Txn& txn,
                                            std::uint32_t generation, std::uint32_t width) {
  if (width == 0)
    throw std::runtime_error(fmt::format("model generation {} (EASE) records no item count; retrain it", generation));
  const auto n = static_cast<Eigen::Index>(width);
  model::RowMatrixXf b(n, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    auto row = store::load_factor_row(db, txn, generation, store::Side::Items, static_cast<std::uint32_t>(i));
    if (!row || static_cast<Eigen::Index>(row->size()) != n) {
      throw std::runtime_error(fmt::format(
          "model generation {} (EASE) is damaged: row {} of its {} × {} weights is {}; run recsys check, "
          "then retrain (or precompute another generation)",
          generation, i, n, n, row ? fmt::format("{} values wide", row->size()) : std::string("missing")));
    }
    std::copy(row->begin(), row->end(), b.row(i).data());
  }
  return b;
}

}  // namespace recsys::rank
