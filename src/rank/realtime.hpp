// Real-time events: a user's new ratings are stored, their factors re-solved by
// fold-in with the serving model's item factors fixed (Hu, Koren & Volinsky
// 2008, the ALS user step for one row) — or, for an EASE model, their scores
// recomputed exactly as x_u·B — and their cached list recomputed — all
// inside the caller's write transaction, so the next read sees all of it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/matrix.hpp"
#include "model/params.hpp"
#include "rank/topk.hpp"
#include "store/cache.hpp"
#include "store/database.hpp"
#include "store/ratings.hpp"

namespace recsys::rank {

struct Event {
  std::string user;
  std::string item;
  float value = 1.0f;
  std::int64_t timestamp = 0;
};

// Holds the serving model's item side in memory (factors, YᵀY, encoded item
// ids) and reloads it when the serving generation changes. One instance per
// writer thread; not thread-safe.
class RealtimeRanker {
 public:
  // Applies `events` in `txn`: new users and items get ids, ratings merge into
  // the stored lists, every touched user is folded in and gets a fresh list
  // (the fallback without their items when none of them is in the model).
  // Without a served model only the ratings are stored.
  void apply(const store::Database& db, const store::Txn& txn, std::span<const Event> events);

  // Re-solves one user from their stored ratings with the serving model and
  // rewrites their factor row and list: for writers whose lists came from an
  // older snapshot (precompute, when events landed meanwhile).
  void refresh(const store::Database& db, const store::Txn& txn, std::uint32_t user);

  // Takes a model already in memory as the serving one (precompute hands over
  // the matrix it ranked with) so the first refresh does not load it again:
  // for EASE that would be a second items² copy of B, read inside the commit.
  // `heads` are the list entry heads of the items (at least items.rows()).
  void adopt_model(std::uint32_t generation, const model::ModelParams& params, model::RowMatrixXf items,
                   std::vector<std::string> heads, std::size_t k);

  std::optional<std::uint32_t> generation() const { return generation_; }

 private:
  void sync_model(const store::Database& db, const store::Txn& txn);
  // Reloads tails_ when `recsys items` stored new metadata since they were read.
  void sync_metadata(const store::Database& db, const store::Txn& txn);
  void refresh_user(const store::Database& db, const store::Txn& txn, std::uint32_t user, std::string_view user_id,
                    std::span<const store::RatingRecord> ratings);
  // EASE: the user's list from x_u·B (no factor row is stored).
  void refresh_ease(const store::Database& db, const store::Txn& txn, std::string_view user_id);
  // Writes the user's list (the first k_ of `top`) and candidates (all of it).
  void put_lists(const store::Database& db, const store::Txn& txn, std::string_view user_id,
                 std::span<const Scored> top, store::ListSource source);
  // The user's list when fold-in gives no factors: the stored fallback ranking
  // without the items in item_buf_.
  void put_fallback(const store::Database& db, const store::Txn& txn, std::string_view user_id);

  std::optional<std::uint32_t> generation_;
  model::ModelParams params_;
  model::RowMatrixXf items_;  // item factors, or EASE's B
  std::vector<std::uint32_t> no_factors_;  // items_ rows without factors: never listed (ALS)
  Eigen::MatrixXf gram_;
  std::vector<std::string> heads_;
  std::vector<std::string> tails_;  // item metadata members, from item_meta_version_
  std::uint32_t item_meta_version_ = 0;
  std::size_t k_ = 10;
  std::size_t depth_ = 0;  // candidates kept for filters (meta cache_depth; 0: none)
  std::vector<store::RankedItem> ranked_;
  store::ListBuilder builder_;
  std::vector<std::uint32_t> item_buf_;
  std::vector<float> value_buf_;
};

// The training parameters recorded in a model description ("params" object,
// or the description itself when it has none).
model::ModelParams params_of_description(std::string_view description);

}  // namespace recsys::rank
