// Popularity fallback: the list served to users without a personal list
// (unknown users, users whose factor row is zero), and — with the items they
// rated removed — the personal fallback of users who have ratings but no
// usable factors (docs/serving.md, "Fallback").
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/matrix.hpp"
#include "rank/topk.hpp"

namespace recsys::rank {

// The k items with the most ratings, best first; score = number of ratings.
// Items nobody rated are never included.
std::vector<Scored> most_popular(std::span<const std::uint32_t> rating_counts, std::size_t k);

// Every item that can be recommended as a fallback, best first:
// - items with ratings, most-rated first (score = number of ratings);
// - when no item has a rating (a model imported with import-factors and no
//   ratings), items by the length of their factor vector (score = the norm):
//   in ALS an item's norm grows with the weight of its observations, so it is
//   the model's own estimate of popularity;
// - with `unrated_after` (a model trained elsewhere: model::imported_model),
//   after the rated items, the items nobody rated by that length, score 0, so
//   that scores never rise down the list.
// Zero rows are left out. Ties rank the lower index first.
std::vector<Scored> fallback_ranking(std::span<const std::uint32_t> rating_counts,
                                     const model::RowMatrixXf& item_factors, bool unrated_after);

// The first k entries of `ranking` whose item is not in `seen` (sorted).
std::vector<Scored> first_unseen(std::span<const Scored> ranking, std::span<const std::uint32_t> seen, std::size_t k);

}  // namespace recsys::rank
