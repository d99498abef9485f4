// Precompute: the serving cache for one model generation. For every user with
// factors, the top-k items they have not rated (users with ratings but no
// factors are folded in; the fallback without their items when none is in the
// model); for every item, its top-k most similar items (cosine on item
// factors; for an EASE model scores x_u·B and rows of B, rank/ease_rank.hpp),
// or the fallback without the item when the model has none for it;
// the fallback ranking (most-rated items) for everyone else.
// Everything is written, with the serving generation, in ONE write transaction:
// a running server switches from the old cache to the new one at that commit,
// and a crash before it leaves the old cache serving.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "store/database.hpp"

namespace recsys::rank {

struct PrecomputeOptions {
  std::size_t k = 10;
  // Candidates kept per user and item for filtered requests (at least k):
  // store/candidates.hpp, docs/serving.md "Filters".
  std::size_t depth = 100;
  std::optional<std::uint32_t> generation;  // default: the latest stored
  unsigned threads = 1;
  std::size_t query_block = 64;
  std::size_t target_tile = 2048;
};

struct PrecomputeReport {
  std::uint32_t generation = 0;
  std::size_t users = 0;            // known users
  std::size_t user_lists = 0;       // users with a personal list
  std::size_t refreshed_users = 0;  // of which by fold-in (no model row, or ratings changed meanwhile)
  std::size_t changed_users = 0;    // ALS users folded in before ranking: ratings changed since training
  std::size_t items = 0;            // items in the model
  std::size_t similar_lists = 0;    // from the model (other items get the fallback without themselves)
  std::size_t factors = 0;          // EASE: B's columns (= items)
  bool ease = false;                // an EASE generation (rank_gflops: multiply-adds of x_u·B)
  double load_seconds = 0;
  double rank_seconds = 0;          // users × items products + top-k selection
  double similar_seconds = 0;       // items × items
  double encode_seconds = 0;
  double write_seconds = 0;         // the one write transaction, commit included
  double rank_gflops = 0;           // 2·users·items·factors / rank_seconds
  double similar_gflops = 0;
  std::size_t cache_bytes = 0;      // stored list values
  std::size_t depth = 0;            // candidates per list
  std::size_t candidate_bytes = 0;  // stored candidate values
};

PrecomputeReport precompute(store::Database& db, const PrecomputeOptions& options);

}  // namespace recsys::rank
