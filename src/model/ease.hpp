// EASE, an item-item model in closed form (Steck, "Embarrassingly Shallow
// Autoencoders for Sparse Data", WWW 2019): with X the users × items input,
//   G = XᵀX + λI,  P = G⁻¹,  B = I − P·diag(1/diag(P)),
// i.e. B_ij = −P_ij / P_jj and B_jj = 0. A user's score for item j is x_u·B_j
// (column j of B): exact for any user from their ratings alone, so a new event
// needs no fold-in. B is items × items float32: memory grows with items², not
// with users or ratings (ease_memory_bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "model/matrix.hpp"
#include "model/params.hpp"
#include "model/rating_matrix.hpp"

namespace recsys::model {

// λ for binary input when --regularization is not given: the best sum of
// nDCG@10 over MovieLens 100k and ml-latest-small in a scan (docs/training.md,
// "EASE").
inline constexpr float kEaseDefaultLambda = 300.0f;

struct EaseParams {
  float lambda = kEaseDefaultLambda;
  // Binary: x = 1 for every stored pair (Steck's setting). Linear or log: x is
  // the iALS confidence 1 + alpha·f(r) (confidence.hpp), so heavy users' or
  // repeated plays weigh more.
  Confidence confidence = Confidence::Binary;
  float alpha = 0.0f;    // resolved alpha (ModelParams::alpha), for linear and log
  float epsilon = 1.0f;  // log confidence: the median stored value (resolve_for_data)
};

// The EASE settings recorded in resolved ModelParams (family Ease).
EaseParams ease_params_of(const ModelParams& p);

// The input value x of one stored rating r.
float ease_input(const EaseParams& p, float r);

// X by user (users × items) for these parameters, from coordinate triples.
Csr build_ease_input(const EaseParams& p, std::uint32_t n_users, std::uint32_t n_items,
                     std::span<const std::uint32_t> users, std::span<const std::uint32_t> items,
                     std::span<const float> values);

// How XᵀX is formed (fit_ease picks Auto: the cheaper of the two for X's density).
enum class GramMethod { Auto, Sparse, DenseSyrk };

// B (items × items, row-major, diagonal 0) for X = `x_by_user` (values already
// the EASE input, see build_ease_input). `threads` bounds the worker threads
// and OpenBLAS's threads; OpenBLAS's thread count is process-wide, so fits
// are not to run concurrently in one process (run them one after another). Throws std::invalid_argument for λ <= 0 or not
// finite, and std::runtime_error when XᵀX overflows float32 or the Cholesky
// factorisation fails.
RowMatrixXf fit_ease(const EaseParams& p, const Csr& x_by_user, unsigned threads,
                     GramMethod method = GramMethod::Auto);

// G = XᵀX (lower and upper triangle) by the chosen method; exposed for tests.
RowMatrixXf ease_gram(const Csr& x_by_user, unsigned threads, GramMethod method);

// scores[j] = Σ_i x_i·B_ij over one user's stored items (x = EASE input values):
// exactly x_u·B, computed from the rows of B the user touches. `scores` has
// b.cols() entries; items outside B are ignored.
void ease_scores(const RowMatrixXf& b, std::span<const std::uint32_t> items, std::span<const float> x,
                 std::span<float> scores);

// Bytes fit_ease holds at its peak for `n_items` items: G, inverted and turned
// into B in place (n² floats), plus the O(n) diagonal. The caller's input X
// and its copies of B (storing, serving) come on top.
std::size_t ease_memory_bytes(std::size_t n_items);

}  // namespace recsys::model
