#include "model/fold_in.hpp"

#include <algorithm>
#include <vector>

#include "model/confidence.hpp"
#include "model/row_solver.hpp"

namespace recsys::model {

Eigen::MatrixXf item_gram(const RowMatrixXf& item_factors) {
  const auto f = item_factors.cols();
  Eigen::MatrixXf gram = Eigen::MatrixXf::Zero(f, f);
  gram.selfadjointView<Eigen::Lower>().rankUpdate(item_factors.transpose());
  gram.triangularView<Eigen::StrictlyUpper>() = gram.transpose();
  return gram;
}

Eigen::VectorXf fold_in_user(const ModelParams& params, const RowMatrixXf& item_factors,
                             const Eigen::MatrixXf& item_gram, std::span<const std::uint32_t> items,
                             std::span<const float> values) {
  const auto f = item_factors.cols();
  const auto n_items = static_cast<std::uint64_t>(item_factors.rows());
  // Keep the known items; the weights are what training used for the same values.
  std::vector<std::uint32_t> idx;
  std::vector<float> w;
  idx.reserve(items.size());
  w.reserve(items.size());
  const std::size_t n = std::min(items.size(), values.size());
  std::size_t positive = 0;  // known items with a value > 0
  // A model imported from Spark solves Spark's system: a value <= 0 is a
  // preference 0 with confidence 1 + α·0, which adds nothing to A or b.
  // Kept, it was a positive observation (p = 1), as recsys' own models train
  // it, and a value-0 event moved a Spark user like a value-1 one.
  const bool spark_preferences = params.weighted_lambda && params.feedback == Feedback::Implicit;
  for (std::size_t j = 0; j < n; ++j) {
    if (items[j] >= n_items) continue;
    if (spark_preferences && !(values[j] > 0.0f)) continue;
    if (values[j] > 0.0f) ++positive;
    idx.push_back(items[j]);
    w.push_back(params.feedback == Feedback::Implicit
                    ? confidence_excess(params.confidence, params.alpha, params.epsilon, values[j])
                    : values[j]);
  }
  Eigen::VectorXf x = Eigen::VectorXf::Zero(f);
  RowWorkspace ws;
  if (params.feedback == Feedback::Implicit) {
    // The user's normalisation, as training applied it to a row of this length.
    const float scale = user_confidence_scale(params, params.mean_user_ratings, idx.size());
    for (auto& v : w) v *= scale;
    Eigen::MatrixXf gram = item_gram;
    // ALS-WR scales λ by the user's positive ratings of known items, as
    // Spark's implicit ALS (its numExplicits); a user with none keeps λ.
    float lambda = params.regularization;
    if (params.weighted_lambda) {
      lambda *= static_cast<float>(std::max<std::size_t>(1, positive));
    }
    gram.diagonal().array() += lambda;
    implicit_exact(item_factors, gram, idx, w, x.data(), params.nonnegative, ws);
  } else {
    explicit_exact(item_factors, params.regularization, idx, w, x.data(), params.nonnegative, ws);
  }
  // A weight past float's range (α·value overflowing: a value far above what
  // training saw) makes the solve NaN; such factors ranked nothing, and the
  // user was served an empty list as the model's. No factors: the fallback.
  if (!x.allFinite()) x.setZero();
  return x;
}

}  // namespace recsys::model
