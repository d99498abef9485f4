// Popularity fallback: the most-rated items, served to users without a
// personal list (no ratings, or unknown to the model).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "rank/topk.hpp"

namespace recsys::rank {

// The k items with the most ratings, best first; score = number of ratings.
// Items nobody rated are never included.
std::vector<Scored> most_popular(std::span<const std::uint32_t> rating_counts, std::size_t k);

}  // namespace recsys::rank
