// Fold-in: solve for one user's factors with the item factors fixed, i.e. one
// row of the ALS user step. Used for real-time updates (POST /v1/events) and
// for users who arrive after training.
#pragma once

#include <cstdint>
#include <span>

#include "model/matrix.hpp"
#include "model/params.hpp"

namespace recsys::model {

// YᵀY of the item factors (factors × factors), computed once per model and
// reused by every implicit fold-in (Hu, Koren & Volinsky 2008, §4).
Eigen::MatrixXf item_gram(const RowMatrixXf& item_factors);

// New factors for a user who rated `items` with `values` (same length, item
// indexes < item_factors.rows()). `params` are the resolved training parameters
// of the model (regularization and alpha set). `item_gram` is item_gram(item_factors)
// (ignored for explicit feedback). Items out of range are ignored. Factors that
// are not finite (a confidence weight overflowing float) come back as zero: no
// factors, which callers answer with the fallback.
Eigen::VectorXf fold_in_user(const ModelParams& params, const RowMatrixXf& item_factors,
                             const Eigen::MatrixXf& item_gram, std::span<const std::uint32_t> items,
                             std::span<const float> values);

}  // namespace recsys::model
