#include "rank/precompute.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/ease.hpp"
#include "model/fold_in.hpp"
#include "rank/ease_rank.hpp"
#include "rank/factors.hpp"
#include "rank/popularity.hpp"
#include "rank/realtime.hpp"
#include "rank/topk.hpp"
#include "store/cache.hpp"
#include "store/candidates.hpp"
#include "store/ids.hpp"
#include "store/items.hpp"
#include "store/models.hpp"
#include "store/ratings.hpp"
#include "util/log.hpp"
#include "util/parallel.hpp"
#include "util/timer.hpp"

namespace recsys::rank {

namespace {

// What precompute reads, in memory: factors, seen items (CSR), ids, counts.
struct Inputs {
  std::uint32_t generation = 0;
  model::ModelParams params;
  model::RowMatrixXf users;
  model::RowMatrixXf items;  // EASE: B (items × items), and no user rows
  std::vector<std::string> user_ids;
  std::vector<std::string> item_ids;
  std::vector<std::string> item_tails;    // metadata members per item (store/items.hpp)
  std::uint32_t item_meta_version = 0;    // of the snapshot's metadata
  std::vector<std::size_t> seen_offsets;  // user -> [offsets[u], offsets[u+1]) in seen
  std::vector<std::uint32_t> seen;        // sorted item indexes per user
  std::vector<float> seen_values;         // their stored values (EASE input)
  std::vector<std::uint32_t> item_counts; // ratings per item (popularity)
  std::vector<std::uint64_t> fingerprints;  // per user: hash of the stored ratings (0: none)
  std::vector<std::uint64_t> trained_fingerprints;  // the same of the ratings the model was fitted on (may be empty)
  std::uint64_t snapshot_txn = 0;           // LMDB id of the snapshot read
};

Inputs load_inputs(store::Database& db, const PrecomputeOptions& options) {
  Inputs in;
  auto txn = db.begin_read();
  in.snapshot_txn = mdb_txn_id(txn.handle());
  auto model = options.generation ? store::find_model(db, txn, *options.generation) : store::latest_model(db, txn);
  if (!model) {
    if (options.generation) throw std::runtime_error(fmt::format("no model generation {} is stored", *options.generation));
    throw std::runtime_error("no trained model in the database: run recsys train first");
  }
  in.generation = model->generation;
  in.params = params_of_description(model->description);
  if (in.params.family == model::Family::Ease) {
    in.items = load_ease_weights(db, txn, in.generation, in.params.factors);
  } else {
    in.users = to_matrix(store::load_factors(db, txn, in.generation, store::Side::Users));
    in.items = to_matrix(store::load_factors(db, txn, in.generation, store::Side::Items));
    in.trained_fingerprints = store::load_user_fingerprints(db, txn, in.generation);
  }
  in.user_ids = store::load_id_strings(db, txn, store::IdKind::User);
  in.item_ids = store::load_id_strings(db, txn, store::IdKind::Item);
  in.item_tails = store::entry_tails(db, txn, in.item_ids);
  in.item_meta_version = store::item_meta_version(db, txn);
  in.seen_offsets.assign(in.user_ids.size() + 1, 0);
  in.item_counts.assign(in.item_ids.size(), 0);
  in.fingerprints.assign(in.user_ids.size(), 0);
  std::uint32_t next_user = 0;
  store::for_each_user_ratings(db, txn, [&](std::uint32_t user, std::span<const store::RatingRecord> records) {
    if (user >= in.user_ids.size()) return;  // ratings without an id: not servable
    for (; next_user <= user; ++next_user) in.seen_offsets[next_user] = in.seen.size();
    in.fingerprints[user] = store::ratings_fingerprint(records);
    for (const auto& r : records) {
      in.seen.push_back(r.item);
      in.seen_values.push_back(r.value);
      if (r.item < in.item_counts.size()) ++in.item_counts[r.item];
    }
  });
  for (; next_user <= in.user_ids.size(); ++next_user) in.seen_offsets[next_user] = in.seen.size();
  return in;
}

// Positions 0..n-1 ordered by their keys' byte order (LMDB's), so lists can be
// written with MDB_APPEND.
std::vector<std::uint32_t> key_order(const std::vector<std::string>& keys, const std::vector<std::uint32_t>& rows) {
  std::vector<std::uint32_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return keys[rows[a]] < keys[rows[b]]; });
  return order;
}

// Encodes the first k entries of the lists of `rows` (row r's entries in
// lists.row(r)) in parallel, and all of them as candidates.
struct Encoded {
  std::vector<std::string> lists;
  std::vector<std::string> candidates;
};
Encoded encode_lists(const TopKLists& lists, std::size_t k, const std::vector<std::string>& heads,
                     const std::vector<std::string>& tails, std::uint32_t generation, unsigned threads,
                     store::ListSource source = store::ListSource::Model) {
  Encoded out;
  out.lists.resize(lists.counts.size());
  out.candidates.resize(lists.counts.size());
  parallel_chunks(out.lists.size(), threads, [&](std::size_t begin, std::size_t end, unsigned) {
    store::ListBuilder builder;
    std::vector<store::RankedItem> ranked;
    for (std::size_t r = begin; r < end; ++r) {
      builder.clear();
      ranked.clear();
      auto row = lists.row(r);
      for (const auto& s : row.first(std::min(k, row.size()))) builder.add(heads[s.index], s.score, tails[s.index]);
      for (const auto& s : row) ranked.push_back({s.index, s.score});
      out.lists[r] = std::string(builder.finish(source, generation));
      out.candidates[r] = store::encode_candidates(source, generation, ranked);
    }
  });
  return out;
}

// Users whose list must come from fold-in in the write transaction: those
// with ratings but no factor row in the model (new since it was trained), and,
// when other writers committed since the snapshot (a server taking events),
// those whose ratings changed or who are new since it.
std::vector<std::uint32_t> users_to_refresh(const store::Database& db, const store::Txn& txn, const Inputs& in,
                                            const std::vector<char>& has_list) {
  std::vector<std::uint32_t> out;
  for (std::uint32_t u = 0; u < in.user_ids.size(); ++u) {
    if (in.fingerprints[u] != 0 && !has_list[u]) out.push_back(u);
  }
  if (mdb_txn_id(txn.handle()) == in.snapshot_txn + 1) return out;  // nothing committed in between
  std::size_t unchanged_end = out.size();
  store::for_each_user_ratings(db, txn, [&](std::uint32_t user, std::span<const store::RatingRecord> records) {
    bool known = user < in.user_ids.size();
    if (known && store::ratings_fingerprint(records) == in.fingerprints[user]) return;
    // Users with snapshot ratings but no list are in `out` already.
    if (!known || has_list[user] || in.fingerprints[user] == 0) out.push_back(user);
  });
  std::inplace_merge(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(unchanged_end), out.end());
  return out;
}

double gflops(std::size_t rows, std::size_t cols, std::size_t f, double seconds) {
  return seconds > 0 ? 2.0 * static_cast<double>(rows) * static_cast<double>(cols) * static_cast<double>(f) / seconds / 1e9
                     : 0.0;
}

// Removes the rows whose list is empty (rows[p] and lists.row(p) stay paired):
// those keys get no model list.
void drop_empty_rows(std::vector<std::uint32_t>& rows, TopKLists& lists) {
  std::size_t kept = 0;
  for (std::size_t p = 0; p < rows.size(); ++p) {
    if (lists.counts[p] == 0) continue;
    rows[kept] = rows[p];
    std::copy_n(lists.entries.begin() + static_cast<std::ptrdiff_t>(p * lists.k), lists.counts[p],
                lists.entries.begin() + static_cast<std::ptrdiff_t>(kept * lists.k));
    lists.counts[kept++] = lists.counts[p];
  }
  rows.resize(kept);
  lists.counts.resize(kept);
  lists.entries.resize(kept * lists.k);
}

// The items of 0..n-1 not in `with_list` (sorted).
std::vector<std::uint32_t> items_without(std::size_t n, std::span<const std::uint32_t> with_list) {
  std::vector<std::uint32_t> out;
  for (std::uint32_t i = 0; i < n; ++i) {
    if (!std::binary_search(with_list.begin(), with_list.end(), i)) out.push_back(i);
  }
  return out;
}

// Similar items of items the model has none for (no usable row, or newer
// than the model): the fallback ranking without the item itself, as a user
// who rated only that item would get (docs/serving.md, "Fallback").
TopKLists fallback_similar(std::span<const Scored> ranking, std::span<const std::uint32_t> items, std::size_t depth) {
  TopKLists out;
  out.k = depth;
  out.entries.resize(items.size() * depth);
  out.counts.assign(items.size(), 0);
  for (std::size_t p = 0; p < items.size(); ++p) {
    auto row = first_unseen(ranking, items.subspan(p, 1), depth);
    std::copy(row.begin(), row.end(), out.entries.begin() + static_cast<std::ptrdiff_t>(p * depth));
    out.counts[p] = static_cast<std::uint32_t>(row.size());
  }
  return out;
}

// A user's stored items (sorted) and their values.
std::span<const std::uint32_t> seen_span(const Inputs& in, std::size_t u) {
  return {in.seen.data() + in.seen_offsets[u], in.seen_offsets[u + 1] - in.seen_offsets[u]};
}

// ALS: users whose ratings changed between the snapshot the model was fitted
// on and this one (events while `train` ran, or since) get factors folded in
// from their ratings now, as their next event would give them; otherwise
// their list would rank with factors that miss those ratings until then.
// Users the model did not know (their rows come from fold-in, which ratings
// stored without the server do not update) are folded in again too, and a
// user whose ratings are gone gets a zero row: the fallback. Returns those
// users, sorted. Only with the trained fingerprints (models.hpp). Outside the
// write transaction: it replaces rows of the in-memory user factors the
// products below read; the stored rows stay as trained, so a later precompute
// of the same generation folds these users in again (the same result).
std::vector<std::uint32_t> fold_in_changed(Inputs& in, unsigned threads) {
  std::vector<std::uint32_t> changed;
  const std::vector<std::uint64_t>& trained = in.trained_fingerprints;
  if (trained.empty()) return changed;
  if (in.users.rows() > 0 && in.users.cols() != in.items.cols()) {
    throw std::runtime_error(fmt::format("model generation {}: user and item factors have different widths",
                                         in.generation));
  }
  const std::size_t rows = std::min(static_cast<std::size_t>(in.users.rows()), in.fingerprints.size());
  for (std::uint32_t u = 0; u < rows; ++u) {
    const bool trained_on = u < trained.size();  // else new since training: always again
    if (in.fingerprints[u] == 0) {
      if (has_factors(in.users.row(u))) {
        in.users.row(u).setZero();  // ratings removed since (import --replace)
        changed.push_back(u);
      }
    } else if (!trained_on || trained[u] != in.fingerprints[u]) {
      changed.push_back(u);
    }
  }
  if (changed.empty()) return changed;  // the usual case right after train: no YᵀY to compute
  const Eigen::MatrixXf gram = model::item_gram(in.items);
  parallel_chunks(changed.size(), threads, [&](std::size_t begin, std::size_t end, unsigned) {
    for (std::size_t c = begin; c < end; ++c) {
      const std::uint32_t u = changed[c];
      const std::size_t b = in.seen_offsets[u], e = in.seen_offsets[u + 1];
      if (b == e) continue;  // zeroed above
      in.users.row(u) = model::fold_in_user(in.params, in.items, gram, {in.seen.data() + b, e - b},
                                            {in.seen_values.data() + b, e - b})
                            .transpose();
    }
  });
  return changed;
}

// The model lists: users with one (user_rows) and their lists, items with
// similar items (item_rows) and theirs.
struct Ranked {
  std::vector<std::uint32_t> user_rows, item_rows;
  TopKLists user_lists, similar;
};

Ranked rank_als(const Inputs& in, const BlockOptions& block, PrecomputeReport& report) {
  // Users with a non-zero factor row get a model list, whether or not ratings
  // are stored for them (a model imported with import-factors brings users the
  // database has no ratings for). Users with ratings but no usable factors are
  // folded in below (the fallback without their items when fold-in has no item
  // of theirs to work with); the rest are answered by the shared fallback.
  auto seen_of = [&](std::size_t u) { return seen_span(in, u); };
  const std::size_t n_items = static_cast<std::size_t>(in.items.rows());
  Ranked out;
  auto& user_rows = out.user_rows;
  const std::size_t model_users = std::min<std::size_t>(static_cast<std::size_t>(in.users.rows()), in.user_ids.size());
  // Without any item factor every score is 0 and a "model" list would be
  // arbitrary items: every user then gets the fallback.
  bool any_item = false;
  for (Eigen::Index i = 0; i < in.items.rows() && !any_item; ++i) any_item = has_factors(in.items.row(i));
  for (std::uint32_t u = 0; u < model_users && any_item; ++u) {
    if (has_factors(in.users.row(u))) user_rows.push_back(u);
  }
  // Items without factors (an import-factors model that does not cover every
  // item) score 0 for everyone: listed, they were arbitrary items marked
  // "model", above every item the model scores below 0. Never listed.
  const std::vector<std::uint32_t> no_factors = rows_without_factors(in.items);
  BlockOptions ranked_block = block;
  ranked_block.no_targets = no_factors;
  Timer timer;
  out.user_lists = top_k_products(in.users, in.items, user_rows, seen_of, ranked_block);
  // A user who rated every item with factors has no model list: refreshed
  // below (fold-in, then the fallback without their items), never served an
  // empty "model" list.
  drop_empty_rows(user_rows, out.user_lists);
  report.rank_seconds = timer.seconds();
  report.rank_gflops = gflops(user_rows.size(), n_items, report.factors, report.rank_seconds);

  // Similar items: cosine = dot product of unit rows; an item is not similar to itself.
  timer.reset();
  model::RowMatrixXf unit = normalized_rows(in.items);
  auto& item_rows = out.item_rows;
  for (std::uint32_t i = 0; i < n_items; ++i) {
    if (has_factors(unit.row(i))) item_rows.push_back(i);
  }
  std::vector<std::uint32_t> self(n_items);
  std::iota(self.begin(), self.end(), 0u);
  out.similar = top_k_products(
      unit, unit, item_rows, [&](std::size_t i) { return std::span<const std::uint32_t>(&self[i], 1); }, ranked_block);
  // The only item with factors has no similar item: it gets the fallback, as bare items do.
  drop_empty_rows(item_rows, out.similar);
  report.similar_seconds = timer.seconds();
  report.similar_gflops = gflops(item_rows.size(), n_items, report.factors, report.similar_seconds);

  return out;
}

// EASE: a user's scores are x_u·B from their stored ratings (the same input
// the model was trained on); users whose x_u·B is 0 on every item they have not
// rated (no item in B, or only items that co-occur with nothing else) have no
// model list and are refreshed (fallback) like ALS users without factors.
// Similar items are rows of B (ease_rank.hpp).
Ranked rank_ease(const Inputs& in, const BlockOptions& block, PrecomputeReport& report) {
  Ranked out;
  report.ease = true;
  const auto n = static_cast<std::uint32_t>(in.items.rows());
  const model::EaseParams ease = model::ease_params_of(in.params);
  model::Csr x;
  x.rows = static_cast<std::uint32_t>(in.user_ids.size());
  x.cols = static_cast<std::uint32_t>(in.item_ids.size());
  x.offsets.assign(in.seen_offsets.begin(), in.seen_offsets.end());
  x.indices = in.seen;
  x.values.resize(in.seen_values.size());
  for (std::size_t j = 0; j < x.values.size(); ++j) x.values[j] = model::ease_input(ease, in.seen_values[j]);
  std::size_t nnz = 0;
  for (std::uint32_t u = 0; u < x.rows; ++u) {
    auto items = x.row_indices(u);
    if (std::any_of(items.begin(), items.end(), [n](std::uint32_t i) { return i < n; })) {
      out.user_rows.push_back(u);
      nnz += items.size();
    }
  }
  Timer timer;
  out.user_lists = top_k_ease(x, in.items, out.user_rows, [&](std::size_t u) { return seen_span(in, u); }, block);
  drop_empty_rows(out.user_rows, out.user_lists);
  report.rank_seconds = timer.seconds();
  // Multiply-adds actually done: one row of B per rated item.
  report.rank_gflops = gflops(nnz, n, 1, report.rank_seconds);
  timer.reset();
  for (std::uint32_t i = 0; i < n; ++i) {
    if (has_factors(in.items.row(i))) out.item_rows.push_back(i);
  }
  out.similar = ease_similar(in.items, out.item_rows, block);
  report.similar_seconds = timer.seconds();
  report.similar_gflops = gflops(out.item_rows.size(), n, 1, report.similar_seconds);
  return out;
}

}  // namespace

PrecomputeReport precompute(store::Database& db, const PrecomputeOptions& options) {
  PrecomputeReport report;
  Timer timer;
  Inputs in = load_inputs(db, options);
  const std::size_t n_items = static_cast<std::size_t>(in.items.rows());
  if (n_items > in.item_ids.size()) {
    throw std::runtime_error(fmt::format("model generation {} has {} item rows but only {} item ids are stored",
                                         in.generation, n_items, in.item_ids.size()));
  }
  report.generation = in.generation;
  report.users = in.user_ids.size();
  report.items = n_items;
  report.factors = static_cast<std::size_t>(in.items.cols());
  report.load_seconds = timer.seconds();

  // One selection of `depth` gives both the top-k bodies (its first k) and the candidates.
  const std::size_t depth = std::max(options.depth, options.k);
  report.depth = depth;
  BlockOptions block{depth, options.threads, options.query_block, options.target_tile, {}, {}};
  std::vector<std::uint32_t> changed;
  if (in.params.family != model::Family::Ease) {
    timer.reset();
    changed = fold_in_changed(in, options.threads);
    report.changed_users = changed.size();
    if (report.changed_users > 0) {
      log::info("precompute: folded in {} users whose ratings changed since the model was trained ({:.2f}s)",
                report.changed_users, timer.seconds());
    }
  }
  Ranked ranked = in.params.family == model::Family::Ease ? rank_ease(in, block, report) : rank_als(in, block, report);
  const std::vector<std::uint32_t>& user_rows = ranked.user_rows;
  std::vector<std::uint32_t>& item_rows = ranked.item_rows;
  report.similar_lists = item_rows.size();
  const TopKLists& user_lists = ranked.user_lists;
  const TopKLists& similar = ranked.similar;

  timer.reset();
  std::vector<std::string> heads(in.item_ids.size());
  for (std::size_t i = 0; i < heads.size(); ++i) heads[i] = store::entry_head(in.item_ids[i]);
  Encoded user_values = encode_lists(user_lists, options.k, heads, in.item_tails, in.generation, options.threads);
  Encoded similar_values = encode_lists(similar, options.k, heads, in.item_tails, in.generation, options.threads);
  const std::vector<Scored> ranking = fallback_ranking(in.item_counts, in.items, model::imported_model(in.params));
  store::ListBuilder fallback_builder;
  for (const auto& s : first_unseen(ranking, {}, options.k)) fallback_builder.add(heads[s.index], s.score, in.item_tails[s.index]);
  std::string fallback(fallback_builder.finish(store::ListSource::Fallback, in.generation));
  // Stored whole: fold-in (below, and for events) cuts a user's own fallback from it.
  std::vector<store::RankedItem> stored_ranking(ranking.size());
  for (std::size_t r = 0; r < ranking.size(); ++r) stored_ranking[r] = {ranking[r].index, ranking[r].score};
  // Every known item gets its own list of similar items, never holding itself.
  std::vector<std::uint32_t> bare_items = items_without(in.item_ids.size(), item_rows);
  Encoded bare = encode_lists(fallback_similar(ranking, bare_items, depth), options.k, heads, in.item_tails,
                              in.generation, options.threads, store::ListSource::Fallback);
  item_rows.insert(item_rows.end(), bare_items.begin(), bare_items.end());
  std::move(bare.lists.begin(), bare.lists.end(), std::back_inserter(similar_values.lists));
  std::move(bare.candidates.begin(), bare.candidates.end(), std::back_inserter(similar_values.candidates));
  std::vector<std::uint32_t> user_order = key_order(in.user_ids, user_rows);
  std::vector<std::uint32_t> item_order = key_order(in.item_ids, item_rows);
  report.encode_seconds = timer.seconds();

  std::vector<char> has_list(in.user_ids.size(), 0);
  for (std::uint32_t u : user_rows) has_list[u] = 1;
  std::vector<std::uint32_t> refreshed;
  // Fold-in of the users the snapshot's lists miss uses the model ranked with
  // above, not a second copy read in the commit (EASE: items² floats). Outside
  // the transaction: db.write runs it again after growing a full map.
  RealtimeRanker ranker;
  ranker.adopt_model(in.generation, in.params, std::move(in.items), heads, options.k);
  timer.reset();
  db.write([&](store::Txn& txn) {
    store::clear_caches(db, txn);
    for (std::uint32_t p : user_order) {
      store::put_list(db, txn, store::CacheTable::UserRecs, in.user_ids[user_rows[p]], user_values.lists[p], MDB_APPEND);
    }
    for (std::uint32_t p : item_order) {
      store::put_list(db, txn, store::CacheTable::ItemSimilar, in.item_ids[item_rows[p]], similar_values.lists[p],
                      MDB_APPEND);
    }
    // Keys "s…" sort before "u…": both in one appending pass.
    for (std::uint32_t p : item_order) {
      store::put_candidates(db, txn, store::CandidateKind::Similar, in.item_ids[item_rows[p]],
                            similar_values.candidates[p], MDB_APPEND);
    }
    for (std::uint32_t p : user_order) {
      store::put_candidates(db, txn, store::CandidateKind::User, in.user_ids[user_rows[p]], user_values.candidates[p],
                            MDB_APPEND);
    }
    store::set_cache_depth(db, txn, static_cast<std::uint32_t>(depth));
    store::put_list(db, txn, store::CacheTable::Popularity, store::kFallbackKey, fallback);
    store::put_fallback_order(db, txn, stored_ranking);  // before the fold-ins that read it
    store::set_cache_k(db, txn, static_cast<std::uint32_t>(options.k));
    store::set_serving_generation(db, txn, in.generation);
    // Fold-in, like the server's events, for users the snapshot's lists miss.
    refreshed = users_to_refresh(db, txn, in, has_list);
    report.users = std::max<std::size_t>(report.users, store::id_count(db, txn, store::IdKind::User));  // with those new since the snapshot
    for (std::uint32_t u : refreshed) ranker.refresh(db, txn, u);
    // `recsys items` ran since the snapshot: the lists get the metadata it stored.
    if (store::item_meta_version(db, txn) != in.item_meta_version) store::refresh_cached_lists(db, txn);
  });
  report.write_seconds = timer.seconds();
  if (!refreshed.empty()) {
    // Users without scores in the snapshot's lists (no factor row: new since
    // training, or a zero row: ALS learns nothing for a user whose items no
    // other user rated), and users whose ratings changed during the run.
    // Users counted as changed above whose fold-in found no item of theirs in
    // the model are neither (their fallback is written here).
    std::size_t unscored = 0, during = 0;
    for (std::uint32_t u : refreshed) {
      if (u < has_list.size() && !has_list[u] && in.fingerprints[u] != 0) {
        unscored += !std::binary_search(changed.begin(), changed.end(), u);
      } else {
        ++during;
      }
    }
    std::string parts;
    if (unscored > 0) {
      parts = fmt::format("{} users the model has no scores for (new since it was trained, or rating only items no "
                          "other user rated)",
                          unscored);
    }
    if (during > 0) {
      parts += fmt::format("{}{} users whose ratings changed during the run", parts.empty() ? "" : " and ", during);
    }
    if (!parts.empty()) log::info("precompute: folded in {}", parts);
  }
  report.user_lists = user_rows.size();
  for (std::uint32_t u : refreshed) report.user_lists += u >= has_list.size() || !has_list[u];
  report.refreshed_users = refreshed.size();
  report.cache_bytes = fallback.size();
  for (const auto* e : {&user_values, &similar_values}) {
    for (const auto& v : e->lists) report.cache_bytes += v.size();
    for (const auto& v : e->candidates) report.candidate_bytes += v.size();
  }
  return report;
}

}  // namespace recsys::rank
