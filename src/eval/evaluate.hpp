// Hold-out evaluation of a factor model against a most-popular baseline:
// every test user's top k over all items (blocked products, rank/topk.hpp),
// items seen in training excluded, scored with metrics.hpp.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "data/rating_table.hpp"
#include "eval/metrics.hpp"
#include "model/matrix.hpp"
#include "model/rating_matrix.hpp"
#include "rank/topk.hpp"

namespace recsys::eval {

struct EvalOptions {
  std::size_t k = 10;
  unsigned threads = 1;
  bool rating_metrics = false;  // RMSE / MAE (explicit models)
};

struct EvalReport {
  std::size_t k = 10;
  std::size_t train_ratings = 0;
  std::size_t test_ratings = 0;
  RankingMetrics model;
  RankingMetrics baseline;  // most popular items in train, same exclusions
  std::optional<RatingMetrics> rating;
  double seconds = 0;
};

// `train_by_user` holds the training pairs (users × items; for RMSE/MAE the
// raw ratings, whose range bounds the predictions),
// `test` the held-out ratings in the same index spaces as the factors.
EvalReport evaluate(const model::RowMatrixXf& user_factors, const model::RowMatrixXf& item_factors,
                    const model::Csr& train_by_user, const data::RatingTable& test, const EvalOptions& options);

// The same evaluation for any model that ranks: `rank` returns the top-k
// lists of the given users (row p for users[p]) with the exclusions applied
// (EASE ranks this way, cli/train_ease.cpp). No rating metrics.
using RankFn = std::function<rank::TopKLists(std::span<const std::uint32_t> users, const rank::ExcludeFn& exclude,
                                             const rank::BlockOptions& block)>;
EvalReport evaluate_ranked(const RankFn& rank, const model::Csr& train_by_user, const data::RatingTable& test,
                           const EvalOptions& options);

// Aligned text table: metric, model, most popular, lift (model / baseline).
std::string format_report(const EvalReport& report);
// One metrics object: {"k":…,"precision_at_k":…,…,"coverage":…,"users":…[,"rmse":…,"mae":…]}.
std::string metrics_json(const RankingMetrics& m, const std::optional<RatingMetrics>& rating, std::size_t k);
// {"k":10,"users":…,"train_ratings":…,"test_ratings":…,"model":{…},"baseline":{…}}
std::string report_json(const EvalReport& report);

}  // namespace recsys::eval
