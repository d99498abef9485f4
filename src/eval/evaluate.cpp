#include "eval/evaluate.hpp"

#include <algorithm>
#include <limits>
#include <cmath>
#include <numeric>
#include <vector>

#include "rank/topk.hpp"
#include "util/timer.hpp"

namespace recsys::eval {

namespace {

// Items by training count, most popular first (ties: lower index first).
std::vector<std::uint32_t> popularity_order(const model::Csr& train) {
  std::vector<std::uint32_t> counts(train.cols, 0);
  for (auto i : train.indices) ++counts[i];
  std::vector<std::uint32_t> order(train.cols);
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return counts[a] > counts[b]; });
  while (!order.empty() && counts[order.back()] == 0) order.pop_back();  // never recommend unseen items
  return order;
}

// The first k popular items the user has not rated in train.
void popular_for_user(const std::vector<std::uint32_t>& order, std::span<const std::uint32_t> seen, std::size_t k,
                      std::vector<std::uint32_t>& out) {
  out.clear();
  for (auto i : order) {
    if (out.size() == k) break;
    if (!std::binary_search(seen.begin(), seen.end(), i)) out.push_back(i);
  }
}

RatingMetrics rating_metrics(const model::RowMatrixXf& users, const model::RowMatrixXf& items,
                             const model::Csr& train, const data::RatingTable& test) {
  const auto item_trained = trained_items(train);
  // Predictions are clipped to the range of the training ratings (as Surprise
  // does): a 5-star scale never needs a 5.4.
  float lo = 0, hi = 0;
  if (!train.values.empty()) {
    auto [mn, mx] = std::minmax_element(train.values.begin(), train.values.end());
    lo = *mn;
    hi = *mx;
  }
  RatingMetrics m;
  double se = 0, ae = 0;
  for (std::size_t j = 0; j < test.size(); ++j) {
    auto u = test.users[j], i = test.items[j];
    // As Spark's coldStartStrategy "drop": a pair whose user or item never
    // appeared in training has no learned factors to predict from.
    if (u >= train.rows || train.row_size(u) == 0 || i >= item_trained.size() || !item_trained[i]) {
      ++m.skipped;
      continue;
    }
    double err = static_cast<double>(std::clamp(users.row(u).dot(items.row(i)), lo, hi)) - test.values[j];
    se += err * err;
    ae += std::abs(err);
    ++m.predicted;
  }
  if (m.predicted > 0) {
    m.rmse = std::sqrt(se / static_cast<double>(m.predicted));
    m.mae = ae / static_cast<double>(m.predicted);
  }
  return m;
}

}  // namespace

std::vector<char> trained_items(const model::Csr& train_by_user) {
  std::vector<char> trained(train_by_user.cols, 0);
  for (auto i : train_by_user.indices) trained[i] = 1;
  return trained;
}

model::RowMatrixXf without_untrained(const model::RowMatrixXf& items, const std::vector<char>& trained) {
  model::RowMatrixXf out = items;
  for (Eigen::Index i = 0; i < out.rows(); ++i) {
    if (static_cast<std::size_t>(i) >= trained.size() || !trained[static_cast<std::size_t>(i)]) {
      out.row(i).setConstant(std::numeric_limits<float>::quiet_NaN());
    }
  }
  return out;
}

EvalReport evaluate(const model::RowMatrixXf& user_factors, const model::RowMatrixXf& item_factors,
                    const model::Csr& train_by_user, const data::RatingTable& test, const EvalOptions& options) {
  Timer timer;
  const model::RowMatrixXf rankable = without_untrained(item_factors, trained_items(train_by_user));
  auto products = [&](std::span<const std::uint32_t> users, const rank::ExcludeFn& exclude,
                      const rank::BlockOptions& block) {
    return rank::top_k_products(user_factors, rankable, users, exclude, block);
  };
  EvalReport report = evaluate_ranked(products, train_by_user, test, options);
  if (options.rating_metrics) report.rating = rating_metrics(user_factors, item_factors, train_by_user, test);
  report.seconds = timer.seconds();
  return report;
}

EvalReport evaluate_ranked(const RankFn& rank, const model::Csr& train_by_user, const data::RatingTable& test,
                           const EvalOptions& options) {
  Timer timer;
  EvalReport report;
  report.k = options.k;
  report.train_ratings = train_by_user.nnz();
  report.test_ratings = test.size();
  model::Csr test_by_user = model::build_csr(train_by_user.rows, train_by_user.cols, test.users, test.items, test.values);
  std::vector<std::uint32_t> test_users;
  for (std::uint32_t u = 0; u < test_by_user.rows; ++u)
    if (test_by_user.row_size(u) > 0) test_users.push_back(u);

  // Items without a training rating (only in the test part) have no learned
  // factors: what they score is what initialisation left. They are not
  // ranked, as for a model that never saw them (Recommenders' protocol), and
  // coverage, over the training catalogue, stays at most 1 (it reached 1.13
  // at k = 5000). evaluate() gives them no score at all (NaN factors, which
  // top_k_products never selects); any other ranker's lists are filtered
  // here, so they may be shorter than k when k nears the catalogue (EASE
  // scores such items 0).
  const auto trained = trained_items(train_by_user);
  for (auto item : test.items) report.untrained_test_ratings += item < trained.size() && trained[item] ? 0 : 1;
  rank::BlockOptions block;
  block.k = options.k;  // the rankers cap a list at the catalogue; the metrics divide by k as asked
  block.threads = options.threads;
  block.keep_going = options.keep_going;
  auto lists = rank(test_users,
                    [&](std::size_t u) { return train_by_user.row_indices(static_cast<std::uint32_t>(u)); }, block);

  const auto catalogue = static_cast<std::size_t>(std::count(trained.begin(), trained.end(), 1));
  const auto popular = popularity_order(train_by_user);
  RankingAccumulator model_acc(options.k, train_by_user.cols), base_acc(options.k, train_by_user.cols);
  std::vector<std::uint32_t> ranked;
  for (std::size_t r = 0; r < test_users.size(); ++r) {
    const auto u = test_users[r];
    auto row = lists.row(r);
    ranked.clear();
    for (const auto& s : row) {
      if (ranked.size() == options.k) break;
      if (s.index < trained.size() && trained[s.index]) ranked.push_back(s.index);
    }
    report.per_user.push_back(model_acc.add(ranked, test_by_user.row_indices(u)));
    popular_for_user(popular, train_by_user.row_indices(u), options.k, ranked);
    base_acc.add(ranked, test_by_user.row_indices(u));
  }
  report.model = model_acc.result(catalogue);
  report.baseline = base_acc.result(catalogue);
  if (options.bootstrap > 0 && !report.per_user.empty()) {
    std::vector<double> values(report.per_user.size());
    for (std::size_t j = 0; j < values.size(); ++j) values[j] = report.per_user[j].ndcg;
    report.ndcg_ci = bootstrap_mean(values, options.bootstrap);
    for (std::size_t j = 0; j < values.size(); ++j) values[j] = report.per_user[j].ap;
    report.map_ci = bootstrap_mean(values, options.bootstrap);
  }
  report.seconds = timer.seconds();
  return report;
}

}  // namespace recsys::eval
