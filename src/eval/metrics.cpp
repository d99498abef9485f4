#include "eval/metrics.hpp"

#include <algorithm>
#include <cmath>

namespace recsys::eval {

UserRanking score_user(std::span<const std::uint32_t> ranked, std::span<const std::uint32_t> test_sorted,
                       std::size_t k) {
  UserRanking s;
  if (test_sorted.empty() || k == 0) return s;
  const std::size_t n = std::min(ranked.size(), k);
  double hits = 0, dcg = 0, precision_sum = 0;
  for (std::size_t r = 0; r < n; ++r) {
    if (!std::binary_search(test_sorted.begin(), test_sorted.end(), ranked[r])) continue;
    hits += 1;
    double rank = static_cast<double>(r + 1);
    dcg += 1.0 / std::log2(1.0 + rank);
    precision_sum += hits / rank;
  }
  const std::size_t ideal = std::min(test_sorted.size(), k);
  double idcg = 0;
  for (std::size_t r = 1; r <= ideal; ++r) idcg += 1.0 / std::log2(1.0 + static_cast<double>(r));
  const auto n_test = static_cast<double>(test_sorted.size());
  s.precision = hits / static_cast<double>(k);
  s.recall = hits / n_test;
  s.ndcg = dcg / idcg;
  s.ap = precision_sum / n_test;
  s.ap_at_k = precision_sum / static_cast<double>(ideal);
  return s;
}

UserRanking RankingAccumulator::add(std::span<const std::uint32_t> ranked, std::span<const std::uint32_t> test_sorted) {
  if (test_sorted.empty()) return {};  // users with no test items are not evaluated
  UserRanking u = score_user(ranked, test_sorted, k_);
  sum_.users += 1;
  sum_.precision += u.precision;
  sum_.recall += u.recall;
  sum_.ndcg += u.ndcg;
  sum_.map += u.ap;
  sum_.map_at_k += u.ap_at_k;
  for (std::size_t r = 0; r < std::min(ranked.size(), k_); ++r)
    if (ranked[r] < recommended_.size()) recommended_[ranked[r]] = 1;
  return u;
}

RankingMetrics RankingAccumulator::result(std::size_t catalogue) const {
  RankingMetrics m = sum_;
  if (m.users > 0) {
    const auto n = static_cast<double>(m.users);
    m.precision /= n;
    m.recall /= n;
    m.ndcg /= n;
    m.map /= n;
    m.map_at_k /= n;
  }
  auto distinct = static_cast<double>(std::count(recommended_.begin(), recommended_.end(), 1));
  m.coverage = catalogue > 0 ? distinct / static_cast<double>(catalogue) : 0.0;
  return m;
}

}  // namespace recsys::eval
