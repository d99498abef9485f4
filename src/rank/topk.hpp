// Bounded top-k selection over dense products: for every query row q, the k
// target rows t with the highest q·t, skipping excluded targets (items the user
// already rated, the item itself for similar items). Products are computed in
// blocks (query block × target tile, one SGEMM each) so the work runs near the
// machine's matrix-multiply peak instead of one dot product at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "model/matrix.hpp"

namespace recsys::rank {

struct Scored {
  std::uint32_t index = 0;
  float score = 0.0f;
};

// Order of a ranked list: higher score first, lower index first on ties, so
// every run (any thread count or block size) gives the same lists.
inline bool ranks_before(const Scored& a, const Scored& b) {
  return a.score > b.score || (a.score == b.score && a.index < b.index);
}

// Keeps the k best of the scores pushed into it (k may be 0).
class TopK {
 public:
  explicit TopK(std::size_t k = 0) { reset(k); }
  void reset(std::size_t k);
  // Lowest score that could still enter (-inf while not full).
  float threshold() const { return threshold_; }
  void push(std::uint32_t index, float score);
  // Scans scores[0, n) of targets first_index.. with a vectorised threshold test.
  void push_row(const float* scores, std::size_t n, std::uint32_t first_index);
  // The kept entries best first; empties the selection.
  void take_sorted(std::vector<Scored>& out);

 private:
  std::size_t k_ = 0;
  std::vector<Scored> heap_;  // min-heap on ranks_before: the worst kept entry on top
  float threshold_ = 0.0f;
};

// Result of a batch selection: row r's entries are entries[r*k, r*k + counts[r]).
struct TopKLists {
  std::size_t k = 0;
  std::vector<Scored> entries;
  std::vector<std::uint32_t> counts;

  std::span<const Scored> row(std::size_t r) const { return {entries.data() + r * k, counts[r]}; }
};

// Sorted target indexes a query row must not get (may be empty). `row` is the
// row of the query matrix (rows[p], not the position p in `rows`).
using ExcludeFn = std::function<std::span<const std::uint32_t>(std::size_t row)>;

struct BlockOptions {
  std::size_t k = 10;
  unsigned threads = 1;
  std::size_t query_block = 64;    // rows of one product block
  std::size_t target_tile = 2048;  // targets of one product block (the block stays in L2)
  // When set, asked before each block, from the worker threads (so it must be
  // thread-safe): false stops top_k_products, which then throws
  // ProductsStopped. recsys tune's scoring ends with its budget this way.
  std::function<bool()> keep_going;
  // Targets never selected for any row, sorted: items without factors, whose
  // score 0 put them above every item the model scores below 0.
  std::span<const std::uint32_t> no_targets;
};

struct ProductsStopped {};

// Top-k of queries·targetsᵀ for the query rows listed in `rows` (none when
// empty: an empty selection once meant "all rows", and precompute, finding no
// item with factors, stored every item's list as its fallback): the result's
// row p is the list of query row rows[p]. Both matrices
// have the same number of columns. Targets whose score is not finite are never
// selected.
TopKLists top_k_products(const model::RowMatrixXf& queries, const model::RowMatrixXf& targets,
                         std::span<const std::uint32_t> rows, const ExcludeFn& exclude,
                         const BlockOptions& options);

// One query vector against all targets (the real-time path: one user after fold-in).
std::vector<Scored> top_k_single(std::span<const float> query, const model::RowMatrixXf& targets,
                                 std::span<const std::uint32_t> exclude, std::size_t k,
                                 std::span<const std::uint32_t> no_targets = {});
// The rows of `m` without any factor (all zero), in order.
std::vector<std::uint32_t> rows_without_factors(const model::RowMatrixXf& m);

// Rows scaled to unit length (zero rows stay zero), for cosine similarity.
model::RowMatrixXf normalized_rows(const model::RowMatrixXf& m);

}  // namespace recsys::rank
