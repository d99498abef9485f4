#include "rank/realtime.hpp"

#include <simdjson.h>

#include <algorithm>
#include <map>
#include <stdexcept>

#include "model/ease.hpp"
#include "model/fold_in.hpp"
#include "rank/ease_rank.hpp"
#include "rank/factors.hpp"
#include "rank/popularity.hpp"
#include "rank/topk.hpp"
#include "store/candidates.hpp"
#include "store/ids.hpp"
#include "store/items.hpp"
#include "store/models.hpp"
#include "store/ratings.hpp"
#include "util/log.hpp"

namespace recsys::rank {

model::ModelParams params_of_description(std::string_view description) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(description);
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
    throw std::runtime_error("the stored model description is not a JSON object");
  }
  simdjson::dom::element params;
  if (doc["params"].get(params) == simdjson::SUCCESS && params.is_object()) {
    return model::params_from_json(simdjson::minify(params));
  }
  return model::params_from_json(description);
}

void RealtimeRanker::sync_metadata(const store::Database& db, const store::Txn& txn) {
  auto version = store::item_meta_version(db, txn);
  if (version == item_meta_version_ && tails_.size() == heads_.size()) return;
  tails_.assign(heads_.size(), std::string());
  if (version != 0) {
    auto ids = store::load_id_strings(db, txn, store::IdKind::Item);
    ids.resize(heads_.size());
    tails_ = store::entry_tails(db, txn, ids);
  }
  item_meta_version_ = version;
}

void RealtimeRanker::sync_model(const store::Database& db, const store::Txn& txn) {
  auto serving = store::serving_generation(db, txn);
  if (serving == generation_) {
    // A precompute may re-run the same generation with another k: lists written
    // here follow the k of the cache being served.
    if (generation_) k_ = store::cache_k(db, txn).value_or(k_);
    if (generation_) depth_ = store::cache_depth(db, txn).value_or(0);
    sync_metadata(db, txn);
    return;
  }
  generation_.reset();
  items_.resize(0, 0);
  no_factors_.clear();
  heads_.clear();
  tails_.clear();
  if (!serving) return;
  auto record = store::find_model(db, txn, *serving);
  if (!record) {
    log::warn("events: serving model generation {} is not stored; ratings are kept without fold-in", *serving);
    return;
  }
  params_ = params_of_description(record->description);
  if (params_.family == model::Family::Ease) {
    items_ = load_ease_weights(db, txn, *serving, params_.factors);  // B: scores are x_u·B, no fold-in and no YᵀY
    gram_.resize(0, 0);
  } else {
    items_ = to_matrix(store::load_factors(db, txn, *serving, store::Side::Items));
    gram_ = model::item_gram(items_);
  }
  if (params_.family != model::Family::Ease) no_factors_ = rows_without_factors(items_);
  auto ids = store::load_id_strings(db, txn, store::IdKind::Item);
  heads_.resize(std::min<std::size_t>(ids.size(), static_cast<std::size_t>(items_.rows())));
  for (std::size_t i = 0; i < heads_.size(); ++i) heads_[i] = store::entry_head(ids[i]);
  k_ = store::cache_k(db, txn).value_or(10);
  depth_ = store::cache_depth(db, txn).value_or(0);
  generation_ = serving;
  tails_.clear();
  sync_metadata(db, txn);
  log::info("events: {} uses model generation {} ({} items, {} columns)",
            params_.family == model::Family::Ease ? "EASE scoring" : "fold-in", *serving, items_.rows(), items_.cols());
}

void RealtimeRanker::adopt_model(std::uint32_t generation, const model::ModelParams& params, model::RowMatrixXf items,
                                 std::vector<std::string> heads, std::size_t k) {
  params_ = params;
  items_ = std::move(items);
  if (params_.family == model::Family::Ease) {
    gram_.resize(0, 0);
  } else {
    gram_ = model::item_gram(items_);
  }
  no_factors_.clear();
  if (params_.family != model::Family::Ease) no_factors_ = rows_without_factors(items_);
  heads_ = std::move(heads);
  heads_.resize(std::min<std::size_t>(heads_.size(), static_cast<std::size_t>(items_.rows())));
  k_ = k;
  generation_ = generation;
  // The next sync_model (every apply and refresh starts with one) reads the
  // cache's k and depth and the item metadata for these heads.
  tails_.clear();
}

void RealtimeRanker::apply(const store::Database& db, const store::Txn& txn, std::span<const Event> events) {
  sync_model(db, txn);
  auto policy = store::policy_for(store::rating_stats(db, txn).feedback);
  // Group by user, keeping each user's events in arrival order.
  std::map<std::string_view, std::vector<store::RatingRecord>> by_user;
  for (const auto& e : events) {
    std::uint32_t item = store::get_or_add_index(db, txn, store::IdKind::Item, e.item);
    by_user[e.user].push_back(store::RatingRecord{item, e.value, e.timestamp});
  }
  for (auto& [user_id, records] : by_user) {
    std::uint32_t user = store::get_or_add_index(db, txn, store::IdKind::User, user_id);
    auto merged = store::merge_user_ratings(db, txn, user, records, policy);
    if (generation_) refresh_user(db, txn, user, user_id, merged);
  }
}

void RealtimeRanker::refresh(const store::Database& db, const store::Txn& txn, std::uint32_t user) {
  sync_model(db, txn);
  if (!generation_) return;
  auto ratings = store::get_user_ratings(db, txn, user);
  auto found = store::find_id(db, txn, store::IdKind::User, user);
  if (ratings.empty() || !found) return;
  std::string user_id(*found);  // a copy: the writes below may move pages of this transaction
  refresh_user(db, txn, user, user_id, ratings);
}

void RealtimeRanker::refresh_user(const store::Database& db, const store::Txn& txn, std::uint32_t user,
                                  std::string_view user_id, std::span<const store::RatingRecord> ratings) {
  item_buf_.clear();
  value_buf_.clear();
  for (const auto& r : ratings) {
    item_buf_.push_back(r.item);  // sorted by item: also the seen list
    value_buf_.push_back(r.value);
  }
  if (params_.family == model::Family::Ease) return refresh_ease(db, txn, user_id);
  Eigen::VectorXf factors = model::fold_in_user(params_, items_, gram_, item_buf_, value_buf_);
  store::put_factor_row(db, txn, *generation_, store::Side::Users, user,
                        std::span<const float>(factors.data(), static_cast<std::size_t>(factors.size())));
  builder_.clear();
  // No rated item is in the model: the factors are zero and every score would
  // be 0. Such a user gets the fallback without the items they rated, as
  // precompute gives them.
  if (!has_factors(factors)) return put_fallback(db, txn, user_id);
  auto top = top_k_single(std::span<const float>(factors.data(), static_cast<std::size_t>(factors.size())), items_,
                          item_buf_, std::max(k_, depth_), no_factors_);
  // An item without an id is never listed.
  std::erase_if(top, [&](const Scored& s) { return s.index >= heads_.size(); });
  // Every item with factors is rated: no model list, as for EASE.
  if (top.empty()) return put_fallback(db, txn, user_id);
  put_lists(db, txn, user_id, top, store::ListSource::Model);
}

void RealtimeRanker::refresh_ease(const store::Database& db, const store::Txn& txn, std::string_view user_id) {
  // Exact: the user's new scores are x_u·B over all their stored ratings.
  const model::EaseParams ease = model::ease_params_of(params_);
  for (auto& v : value_buf_) v = model::ease_input(ease, v);
  builder_.clear();
  auto top = top_k_ease_single(items_, item_buf_, value_buf_, std::max(k_, depth_));
  // None of their items is in B: the fallback without their items, as for ALS.
  if (top.empty()) return put_fallback(db, txn, user_id);
  std::erase_if(top, [&](const Scored& s) { return s.index >= heads_.size(); });
  put_lists(db, txn, user_id, top, store::ListSource::Model);
}

void RealtimeRanker::put_lists(const store::Database& db, const store::Txn& txn, std::string_view user_id,
                               std::span<const Scored> top, store::ListSource source) {
  ranked_.clear();
  for (const auto& s : top) {
    if (builder_.size() < k_) {
      if (s.index < heads_.size()) {
        builder_.add(heads_[s.index], s.score, tails_[s.index]);
      } else if (auto id = store::find_id(db, txn, store::IdKind::Item, s.index)) {
        std::string item(*id);  // rated, but newer than the model
        builder_.add(store::entry_head(item), s.score, store::entry_tail(store::item_metadata(db, txn, item)));
      }
    }
    ranked_.push_back({s.index, s.score});
  }
  store::put_list(db, txn, store::CacheTable::UserRecs, user_id, builder_.finish(source, *generation_));
  if (depth_ > 0) {
    store::put_candidates(db, txn, store::CandidateKind::User, user_id,
                          store::encode_candidates(source, *generation_, ranked_));
  }
}

void RealtimeRanker::put_fallback(const store::Database& db, const store::Txn& txn, std::string_view user_id) {
  // At most |seen| entries of the ranking are skipped.
  const std::size_t depth = std::max(k_, depth_);
  auto stored = store::fallback_order(db, txn, depth + item_buf_.size());
  if (stored.empty()) {
    // Cache written before the ranking was stored: the shared fallback answers.
    store::delete_list(db, txn, store::CacheTable::UserRecs, user_id);
    store::delete_candidates(db, txn, store::CandidateKind::User, user_id);
    return;
  }
  std::vector<Scored> ranking(stored.size());
  for (std::size_t r = 0; r < stored.size(); ++r) ranking[r] = {stored[r].item, stored[r].score};
  put_lists(db, txn, user_id, first_unseen(ranking, item_buf_, depth), store::ListSource::Fallback);
}

}  // namespace recsys::rank
