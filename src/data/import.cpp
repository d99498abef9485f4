#include "data/import.hpp"

#include <algorithm>
#include <limits>
#include <span>

#include "data/rating_reader.hpp"
#include "store/ids.hpp"
#include "util/log.hpp"
#include "util/parallel.hpp"
#include "util/progress.hpp"
#include "util/timer.hpp"

namespace recsys::data {

namespace {

using store::RatingRecord;

// Ratings grouped by user: user u's records are records[offsets[u] ..
// offsets[u] + lengths[u]), sorted by item with duplicates folded.
struct Grouped {
  std::vector<std::uint64_t> offsets;
  std::vector<std::uint32_t> lengths;
  std::vector<RatingRecord> records;
};

// Stable counting sort by user (file order kept within a user, which the
// duplicate policy relies on), then per-user sort and fold, both parallel.
Grouped group_by_user(RatingTable& rows, store::DuplicatePolicy policy, unsigned threads) {
  Grouped g;
  std::size_t n = rows.size();
  g.offsets.assign(static_cast<std::size_t>(rows.n_users) + 1, 0);
  for (std::uint32_t u : rows.users) ++g.offsets[u + 1];
  for (std::size_t u = 0; u < rows.n_users; ++u) g.offsets[u + 1] += g.offsets[u];
  g.records.resize(n);
  // Each thread scatters the users of its own range: a full read, a partial write.
  std::vector<std::uint32_t> bounds{0};
  for (unsigned t = 1; t < threads; ++t) {
    auto target = n * t / threads;
    auto it = std::lower_bound(g.offsets.begin(), g.offsets.end(), target);
    bounds.push_back(static_cast<std::uint32_t>(std::max<std::ptrdiff_t>(0, it - g.offsets.begin())));
  }
  bounds.push_back(rows.n_users);
  parallel_chunks(threads, threads, [&](std::size_t b, std::size_t e, unsigned) {
    for (std::size_t t = b; t < e; ++t) {
      std::uint32_t lo = bounds[t], hi = std::max(bounds[t], bounds[t + 1]);
      std::vector<std::uint64_t> pos(g.offsets.begin() + lo, g.offsets.begin() + hi);
      for (std::size_t k = 0; k < n; ++k) {
        std::uint32_t u = rows.users[k];
        if (u < lo || u >= hi) continue;
        g.records[pos[u - lo]++] = RatingRecord{rows.items[k], rows.values[k], rows.timestamps[k]};
      }
    }
  });
  rows = RatingTable{rows.n_users, rows.n_items, {}, {}, {}, {}};  // free the row arrays
  g.lengths.assign(g.offsets.size() - 1, 0);
  parallel_dynamic(g.lengths.size(), threads, 4096, [&](std::size_t b, std::size_t e, unsigned) {
    for (std::size_t u = b; u < e; ++u) {
      std::span<RatingRecord> span(g.records.data() + g.offsets[u], g.offsets[u + 1] - g.offsets[u]);
      g.lengths[u] = static_cast<std::uint32_t>(store::sort_and_fold(span, policy));
    }
  });
  return g;
}

void widen(store::RatingStats& stats, bool& first, float v) {
  if (first) {
    stats.min_value = stats.max_value = v;
    first = false;
  }
  stats.min_value = std::min(stats.min_value, v);
  stats.max_value = std::max(stats.max_value, v);
}

// The LMDB part of the import; may run more than once (map growth), so it
// only reads `g` and the transaction.
store::RatingStats write_import(const store::Database& db, const store::Txn& txn, const ReadResult& in,
                                const Grouped& g, const ImportOptions& options, store::Feedback feedback,
                                std::uint64_t& duplicates_with_stored) {
  store::append_ids(db, txn, store::IdKind::User, in.users.stored_count(), in.users.added());
  store::append_ids(db, txn, store::IdKind::Item, in.items.stored_count(), in.items.added());
  store::RatingStats stats;
  bool first = true;
  duplicates_with_stored = 0;
  Progress progress("writing ratings", g.lengths.size(), "users");
  if (!options.append) {
    store::clear_ratings(db, txn);
    for (std::uint32_t u = 0; u < g.lengths.size(); ++u) {
      if (g.lengths[u] == 0) continue;
      std::span<const RatingRecord> span(g.records.data() + g.offsets[u], g.lengths[u]);
      // Keys ascend into an empty table: MDB_APPEND skips the B-tree search.
      store::put_user_ratings(db, txn, u, span, MDB_APPEND);
      stats.count += span.size();
      for (const auto& r : span) widen(stats, first, r.value);
      if (options.progress && (u & 4095) == 0) progress.update(u);
    }
    stats.feedback = feedback;
  } else {
    stats = store::rating_stats(db, txn);
    first = stats.count == 0;
    auto policy = store::policy_for(feedback);
    std::vector<RatingRecord> merged;
    for (std::uint32_t u = 0; u < g.lengths.size(); ++u) {
      if (g.lengths[u] == 0) continue;
      merged = store::get_user_ratings(db, txn, u);
      std::size_t before = merged.size();
      merged.insert(merged.end(), g.records.begin() + static_cast<std::ptrdiff_t>(g.offsets[u]),
                    g.records.begin() + static_cast<std::ptrdiff_t>(g.offsets[u] + g.lengths[u]));
      merged.resize(store::sort_and_fold(merged, policy));
      duplicates_with_stored += before + g.lengths[u] - merged.size();
      store::put_user_ratings(db, txn, u, merged);
      stats.count = stats.count - before + merged.size();
      for (const auto& r : merged) widen(stats, first, r.value);
      if (options.progress && (u & 4095) == 0) progress.update(u);
    }
    bool was_explicit = stats.feedback == store::Feedback::Explicit || stats.feedback == store::Feedback::Unknown;
    stats.feedback = was_explicit && feedback == store::Feedback::Explicit ? store::Feedback::Explicit
                                                                          : store::Feedback::Implicit;
  }
  store::put_rating_stats(db, txn, stats);
  if (progress.elapsed() > 2.0 && options.progress) progress.finish();
  return stats;
}

// Copies the stored id maps into the import's dictionaries.
void load_stored_ids(store::Database& db, ReadResult& in) {
  auto txn = db.begin_read();
  for (auto kind : {store::IdKind::User, store::IdKind::Item}) {
    const store::Dbi& keys = kind == store::IdKind::User ? db.tables().user_keys : db.tables().item_keys;
    std::vector<std::string_view> ids(store::id_count(db, txn, kind));
    store::Cursor cur = store::Cursor::open(txn, keys);
    std::string_view key, value;
    for (bool ok = cur.get(key, value, MDB_FIRST); ok; ok = cur.get(key, value, MDB_NEXT)) {
      auto index = store::load<std::uint32_t>(key);
      if (index >= ids.size()) throw std::runtime_error("corrupt id map: index beyond the id count");
      ids[index] = value;  // a view into the map, copied by load_stored below
    }
    (kind == store::IdKind::User ? in.users : in.items).load_stored(ids);
  }
}

}  // namespace

ImportReport import_files(store::Database& db, const std::vector<std::string>& files, const ImportOptions& options) {
  Timer timer;
  ReadOptions read;
  read.format = parse_format(options.format);
  if (!options.columns.empty()) read.columns = parse_columns(options.columns);
  read.strict = options.strict;
  read.threads = resolve_threads(options.threads);
  read.chunk_bytes = options.chunk_bytes;
  read.max_listed_errors = options.max_listed_errors;
  read.progress = options.progress;

  ReadResult in;
  load_stored_ids(db, in);
  read_rating_files(files, read, in);

  ImportReport report;
  report.rows_read = in.rows_read;
  report.imported = in.rows.size();
  report.skipped = in.skipped;
  report.errors = std::move(in.errors);
  report.feedback = in.all_explicit ? store::Feedback::Explicit : store::Feedback::Implicit;
  report.new_users = in.users.size() - in.users.stored_count();
  report.new_items = in.items.size() - in.items.stored_count();
  log::debug("parsed {} rows in {:.2f}s", report.imported, timer.seconds());

  Grouped g = group_by_user(in.rows, store::policy_for(report.feedback), read.threads);
  std::uint64_t unique = 0;
  for (auto len : g.lengths) unique += len;
  report.duplicates = report.imported - unique;
  log::debug("grouped by user in {:.2f}s", timer.seconds());

  std::uint64_t duplicates_with_stored = 0;
  store::RatingStats stats = db.write([&](store::Txn& txn) {
    auto s = write_import(db, txn, in, g, options, report.feedback, duplicates_with_stored);
    report.users_with_ratings = store::users_with_ratings(db, txn);
    return s;
  });
  report.duplicates += duplicates_with_stored;
  report.ratings = stats.count;
  report.feedback = stats.feedback;
  report.users = in.users.size();
  report.items = in.items.size();
  report.seconds = timer.seconds();
  return report;
}

RatingTable load_ratings(const store::Database& db, const store::Txn& txn) {
  RatingTable table;
  table.n_users = store::id_count(db, txn, store::IdKind::User);
  table.n_items = store::id_count(db, txn, store::IdKind::Item);
  table.reserve(store::rating_stats(db, txn).count);
  store::for_each_user_ratings(db, txn, [&](std::uint32_t user, std::span<const RatingRecord> records) {
    for (const auto& r : records) table.push_back(user, r.item, r.value, r.timestamp);
  });
  return table;
}

}  // namespace recsys::data
