// The training input of ALS: the ratings as two compressed sparse row
// matrices, one by user and one by item (each half-step walks one of them).
// Indexes are 32-bit, offsets 64-bit; 8 bytes per rating per orientation.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/params.hpp"

namespace recsys::model {

struct Csr {
  std::uint32_t rows = 0;
  std::uint32_t cols = 0;
  std::vector<std::uint64_t> offsets;  // rows + 1
  std::vector<std::uint32_t> indices;  // column of each stored value
  std::vector<float> values;

  std::size_t nnz() const { return indices.size(); }
  std::span<const std::uint32_t> row_indices(std::uint32_t r) const {
    return {indices.data() + offsets[r], static_cast<std::size_t>(offsets[r + 1] - offsets[r])};
  }
  std::span<const float> row_values(std::uint32_t r) const {
    return {values.data() + offsets[r], static_cast<std::size_t>(offsets[r + 1] - offsets[r])};
  }
  std::size_t row_size(std::uint32_t r) const { return static_cast<std::size_t>(offsets[r + 1] - offsets[r]); }
  std::size_t memory_bytes() const {
    return offsets.size() * sizeof(std::uint64_t) + indices.size() * sizeof(std::uint32_t) +
           values.size() * sizeof(float);
  }
};

// Builds a CSR with `rows` rows from coordinate triples (row[j], col[j], value[j]),
// each row sorted by column (stable). Throws when an index is out of range.
Csr build_csr(std::uint32_t rows, std::uint32_t cols, std::span<const std::uint32_t> row,
              std::span<const std::uint32_t> col, std::span<const float> value);

struct RatingMatrix {
  Csr by_user;  // users × items
  Csr by_item;  // items × users
  // Implicit feedback with p.user_norm > 0: the mean ratings per user (users
  // with at least one) the weights were normalised with; 0 otherwise. Stored
  // with the model as ModelParams::mean_user_ratings, for fold-in.
  float mean_user_ratings = 0.0f;
};

// The ALS input for resolved parameters `p`: for implicit feedback the stored
// value is the confidence excess c - 1 = alpha·f(r) (confidence.hpp), times
// the user's normalisation factor when p.user_norm > 0 (params.hpp); for
// explicit the rating itself. (user, item) pairs are expected to be unique.
RatingMatrix build_rating_matrix(const ModelParams& p, std::uint32_t n_users, std::uint32_t n_items,
                                 std::span<const std::uint32_t> users, std::span<const std::uint32_t> items,
                                 std::span<const float> values);

// The same, consuming the arrays: each is freed once read, so the peak holds
// the arrays and one CSR (by_item is then transposed from by_user) instead of
// the arrays, the weights and both CSRs: 20 bytes per rating instead of 32.
// Used where the caller needs the ratings no more (train's final fit). After
// an exception the arrays' contents are unspecified.
RatingMatrix build_rating_matrix(const ModelParams& p, std::uint32_t n_users, std::uint32_t n_items,
                                 std::vector<std::uint32_t>&& users, std::vector<std::uint32_t>&& items,
                                 std::vector<float>&& values);

// m with rows and columns swapped; each row of the result sorted by column.
Csr transpose(const Csr& m);

}  // namespace recsys::model
