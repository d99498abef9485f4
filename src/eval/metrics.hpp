// Ranking and rating metrics with Microsoft Recommenders' definitions
// (recommenders/evaluation/python_evaluation.py), binary relevance: an item in
// the user's test set is a hit wherever it appears in the top k.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace recsys::eval {

// Per-user scores for one ranked list (best first, at most k items) against the
// user's test items (sorted, non-empty).
struct UserRanking {
  double precision = 0;  // hits / k
  double recall = 0;     // hits / |test|
  double ndcg = 0;       // Σ_hits 1/log2(1 + rank) over Σ_{r ≤ min(|test|, k)} 1/log2(1 + r)
  double ap = 0;         // Σ_hits precision@rank / |test|            (Recommenders' `map`)
  double ap_at_k = 0;    // Σ_hits precision@rank / min(|test|, k)    (`map_at_k`)
};

UserRanking score_user(std::span<const std::uint32_t> ranked, std::span<const std::uint32_t> test_sorted,
                       std::size_t k);

// Averages over the evaluated users, plus catalogue coverage.
struct RankingMetrics {
  std::size_t users = 0;  // users with at least one test item
  double precision = 0;
  double recall = 0;
  double ndcg = 0;
  double map = 0;
  double map_at_k = 0;
  double coverage = 0;  // distinct recommended items / distinct items in train
};

// Sums per-user results in user order (so the averages are deterministic).
class RankingAccumulator {
 public:
  RankingAccumulator(std::size_t k, std::uint32_t n_items) : k_(k), recommended_(n_items, 0) {}
  // Returns the user's scores (all zero, and not counted, when test_sorted is empty).
  UserRanking add(std::span<const std::uint32_t> ranked, std::span<const std::uint32_t> test_sorted);
  // `catalogue` = number of distinct items in train (the coverage denominator).
  RankingMetrics result(std::size_t catalogue) const;

 private:
  std::size_t k_;
  RankingMetrics sum_;
  std::vector<char> recommended_;
};

// Rating prediction error over the test pairs that can be predicted.
struct RatingMetrics {
  std::size_t predicted = 0;  // test pairs scored
  std::size_t skipped = 0;    // pairs whose user or item has no training ratings
  double rmse = 0;
  double mae = 0;
};

}  // namespace recsys::eval
