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
                                     const model::RowMatrixXf& item_factors) {
  std::vector<Scored> out;
  for (std::size_t i = 0; i < rating_counts.size(); ++i) {
    if (rating_counts[i] > 0) out.push_back({static_cast<std::uint32_t>(i), static_cast<float>(rating_counts[i])});
  }
  if (out.empty()) {
    for (Eigen::Index i = 0; i < item_factors.rows(); ++i) {
      float norm = item_factors.row(i).norm();
      if (norm > 0.0f && std::isfinite(norm)) out.push_back({static_cast<std::uint32_t>(i), norm});
    }
  }
  std::sort(out.begin(), out.end(), ranks_before);
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
