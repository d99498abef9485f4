#include "rank/popularity.hpp"

#include <algorithm>
#include <cmath>

namespace recsys::rank {

std::vector<Scored> most_popular(std::span<const std::uint32_t> rating_counts, std::size_t k) {
  TopK top(k);
  for (std::size_t i = 0; i < rating_counts.size(); ++i) {
    if (rating_counts[i] > 0) top.push(static_cast<std::uint32_t>(i), static_cast<float>(rating_counts[i]));
  }
  std::vector<Scored> out;
  top.take_sorted(out);
  return out;
}

std::vector<Scored> fallback_ranking(std::span<const std::uint32_t> rating_counts,
                                     const model::RowMatrixXf& item_factors, bool unrated_after) {
  std::vector<Scored> out;
  for (std::size_t i = 0; i < rating_counts.size(); ++i) {
    if (rating_counts[i] > 0) out.push_back({static_cast<std::uint32_t>(i), static_cast<float>(rating_counts[i])});
  }
  std::sort(out.begin(), out.end(), ranks_before);
  if (!out.empty() && !unrated_after) return out;
  std::vector<Scored> unrated;
  for (Eigen::Index i = 0; i < item_factors.rows(); ++i) {
    auto index = static_cast<std::size_t>(i);
    if (index < rating_counts.size() && rating_counts[index] > 0) continue;
    float norm = item_factors.row(i).norm();
    if (norm > 0.0f && std::isfinite(norm)) unrated.push_back({static_cast<std::uint32_t>(i), norm});
  }
  std::sort(unrated.begin(), unrated.end(), ranks_before);
  if (out.empty()) return unrated;
  // After the rated items, those nobody rated that have factors, for a model
  // trained elsewhere whose ratings are only partly here (import-factors and
  // a few events since), in the model's order with score 0 ratings: before,
  // the first events cut the fallback to the few items they named. Not for a
  // model recsys trained: its items without ratings now are items whose
  // ratings were replaced away, and an EASE row's length is no popularity.
  for (auto s : unrated) out.push_back({s.index, 0.0f});
  return out;
}

std::vector<Scored> first_unseen(std::span<const Scored> ranking, std::span<const std::uint32_t> seen, std::size_t k) {
  std::vector<Scored> out;
  for (const auto& s : ranking) {
    if (out.size() == k) break;
    if (!std::binary_search(seen.begin(), seen.end(), s.index)) out.push_back(s);
  }
  return out;
}

}  // namespace recsys::rank
