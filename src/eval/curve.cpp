#include "eval/curve.hpp"

#include <fmt/format.h>

#include "eval/evaluate.hpp"
#include "eval/metrics.hpp"
#include "rank/topk.hpp"
#include "util/json.hpp"

namespace recsys::eval {

Validation::Validation(const model::Csr& train_by_user, const data::RatingTable& test, std::size_t k,
                       unsigned threads, std::size_t max_users)
    : train_(train_by_user),
      test_by_user_(model::build_csr(train_by_user.rows, train_by_user.cols, test.users, test.items, test.values)),
      trained_(trained_items(train_by_user)),
      k_(k),
      threads_(threads) {
  for (std::uint32_t u = 0; u < test_by_user_.rows; ++u)
    if (test_by_user_.row_size(u) > 0) test_users_.push_back(u);
  if (test_users_.size() > max_users && max_users > 0) {
    std::vector<std::uint32_t> sample;
    for (std::size_t i = 0; i < max_users; ++i) sample.push_back(test_users_[i * test_users_.size() / max_users]);
    test_users_.swap(sample);
  }
}

double Validation::ndcg(const model::RowMatrixXf& users, const model::RowMatrixXf& items) const {
  if (test_users_.empty()) return 0.0;
  rank::BlockOptions block;
  block.k = k_;
  block.threads = threads_;
  // As evaluate(): items without a train rating are not ranked.
  auto lists = rank::top_k_products(
      users, without_untrained(items, trained_), test_users_,
      [&](std::size_t u) { return train_.row_indices(static_cast<std::uint32_t>(u)); }, block);
  RankingAccumulator acc(k_, train_.cols);
  std::vector<std::uint32_t> ranked;
  for (std::size_t r = 0; r < test_users_.size(); ++r) {
    ranked.clear();
    for (const auto& s : lists.row(r)) ranked.push_back(s.index);
    acc.add(ranked, test_by_user_.row_indices(test_users_[r]));
  }
  return acc.result(1).ndcg;
}

namespace {

template <typename F>
void append_series(std::string& out, const char* name, const std::vector<CurvePoint>& points, F value) {
  out += fmt::format(",\"{}\":[", name);
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (i > 0) out += ',';
    json::append_number(out, value(points[i]));
  }
  out += ']';
}

}  // namespace

std::string curve_json(const TrainingCurve& curve) {
  std::string out =
      fmt::format("{{\"k\":{},\"users\":{},\"every\":{},\"phase\":", curve.k, curve.users, curve.every);
  json::append_string(out, curve.phase);
  out += ",\"iterations\":[";
  for (std::size_t i = 0; i < curve.points.size(); ++i) out += fmt::format("{}{}", i ? "," : "", curve.points[i].iteration);
  out += ']';
  append_series(out, "loss", curve.points, [](const CurvePoint& p) { return p.loss; });
  append_series(out, "ndcg", curve.points, [](const CurvePoint& p) { return p.ndcg; });
  append_series(out, "seconds", curve.points, [](const CurvePoint& p) { return p.seconds; });
  out += '}';
  return out;
}

}  // namespace recsys::eval
