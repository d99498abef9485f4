#include "rank/popularity.hpp"

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

}  // namespace recsys::rank
