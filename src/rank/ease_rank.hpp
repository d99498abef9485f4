// Ranking with an EASE model (model/ease.hpp): a user's scores are x_u·B, the
// sum of the rows of B of the items they rated, weighted by their input
// values. Computed from the sparse rows, not as a dense X·B product: the work
// is nnz(X)·items instead of users·items², which is far less at the densities
// of rating data (6 % for MovieLens 100k, under 1 % for larger sets), and it is
// the same sum, in the same order, as the real-time path, so precomputed and
// event-updated lists agree to the last bit.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/matrix.hpp"
#include "model/rating_matrix.hpp"
#include "rank/topk.hpp"

namespace recsys::rank {

// Top-k of x_r·B for the rows `rows` of `x` (none when empty, as for
// top_k_products); the result's row p is the list of x's row rows[p].
// Columns of x outside B (items newer than the model) are ignored. Excluded
// and non-finite scores are never selected. The list is empty when no score
// of a non-excluded item is non-zero (no item of the row inside B, or only
// items that co-occur with no unrated item): such a user has no personal scores.
TopKLists top_k_ease(const model::Csr& x, const model::RowMatrixXf& b, std::span<const std::uint32_t> rows,
                     const ExcludeFn& exclude, const BlockOptions& options);

// One user's top-k (the real-time path): `items` sorted, `x` their input
// values; empty in the same cases as top_k_ease.
std::vector<Scored> top_k_ease_single(const model::RowMatrixXf& b, std::span<const std::uint32_t> items,
                                      std::span<const float> x, std::size_t k);

// Similar items with EASE: item i's list is row i of B without i itself,
// i.e. the list of a user who rated only i.
TopKLists ease_similar(const model::RowMatrixXf& b, std::span<const std::uint32_t> rows, const BlockOptions& options);

}  // namespace recsys::rank
