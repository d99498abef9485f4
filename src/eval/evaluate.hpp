// Hold-out evaluation of a factor model against a most-popular baseline:
// every test user's top k over all items (blocked products, rank/topk.hpp),
// items seen in training excluded, scored with metrics.hpp.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "data/rating_table.hpp"
#include "eval/bootstrap.hpp"
#include "eval/metrics.hpp"
#include "model/matrix.hpp"
#include "model/rating_matrix.hpp"
#include "rank/topk.hpp"

namespace recsys::eval {

struct EvalOptions {
  std::size_t k = 10;
  unsigned threads = 1;
  bool rating_metrics = false;  // RMSE / MAE (explicit models)
  std::size_t bootstrap = kBootstrapResamples;  // resamples for the nDCG / MAP intervals; 0: none
  // Passed to the rankers (rank::BlockOptions::keep_going): false stops the
  // scoring with rank::ProductsStopped (recsys tune's budget).
  std::function<bool()> keep_going;
};

// 1 for every item with a rating in `train_by_user`, else 0.
std::vector<char> trained_items(const model::Csr& train_by_user);
// A copy of `items` whose rows of items not `trained` are NaN:
// rank::top_k_products never selects them (docs/training.md, "Evaluation": a
// model knows nothing of items it was not trained on).
model::RowMatrixXf without_untrained(const model::RowMatrixXf& items, const std::vector<char>& trained);

struct EvalReport {
  std::size_t k = 10;
  std::size_t train_ratings = 0;
  std::size_t test_ratings = 0;
  std::size_t untrained_test_ratings = 0;  // of items without a train rating: never ranked, never a hit
  RankingMetrics model;
  RankingMetrics baseline;  // most popular items in train, same exclusions
  std::optional<RatingMetrics> rating;
  // The model's scores per evaluated user (ascending user index), and the
  // bootstrap 95 % intervals of their means (users resampled; eval/bootstrap.hpp).
  std::vector<UserRanking> per_user;
  std::optional<Interval> ndcg_ci;
  std::optional<Interval> map_ci;
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
// One metrics object: {"k":…,"precision_at_k":…,…,"coverage":…,"users":…[,"rmse":…,"mae":…]
// [,"ndcg_at_k_ci":[low,high],"map_ci":[low,high]]} (the intervals when given).
std::string metrics_json(const RankingMetrics& m, const std::optional<RatingMetrics>& rating, std::size_t k,
                         const std::optional<Interval>& ndcg_ci = std::nullopt,
                         const std::optional<Interval>& map_ci = std::nullopt);
// {"k":10,"users":…,"train_ratings":…,"test_ratings":…,"model":{…},"baseline":{…}}
std::string report_json(const EvalReport& report);

}  // namespace recsys::eval
