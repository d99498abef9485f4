#include "data/import.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <span>
#include <stdexcept>

#include "data/rating_reader.hpp"
#include "store/ids.hpp"
#include "util/error.hpp"
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

// Where the import's indexes land. Stored ids keep theirs; the import numbered
// its new ids from the id count it read, but a concurrent writer (a server
// taking events) may have added ids since, so the write transaction places
// them (store::append_ids) and the rows follow.
struct Placement {
  std::uint32_t stored = 0;           // indexes below are kept
  std::vector<std::uint32_t> added;   // import index stored + k -> index in the database
  bool identity = true;               // nobody else added ids: every index is kept
  std::uint32_t fresh = 0;            // ids really new to the database
  std::uint32_t operator()(std::uint32_t i) const { return i < stored ? i : added[i - stored]; }
};

Placement place_ids(const store::Database& db, const store::Txn& txn, store::IdKind kind, const IdDictionary& ids) {
  Placement p;
  p.stored = ids.stored_count();
  std::uint32_t before = store::id_count(db, txn, kind);
  p.added = store::append_ids(db, txn, kind, ids.added());
  for (std::size_t k = 0; k < p.added.size() && p.identity; ++k) p.identity = p.added[k] == p.stored + k;
  p.fresh = store::id_count(db, txn, kind) - before;
  return p;
}

// With ratings stored, the user must say whether the file replaces or extends
// them (a wrong file must not silently replace a data set).
void check_mode(const ImportOptions& options, std::uint64_t stored_ratings) {
  if (options.append && options.replace) throw UsageError("--append and --replace exclude each other");
  if (stored_ratings > 0 && !options.append && !options.replace) {
    throw UsageError(fmt::format("{} ratings are stored in the database: add --append to add to them, or --replace "
                                 "to replace them",
                                 stored_ratings));
  }
}

// The kind of the ratings stored after the import: the file's, or with
// --append implicit when either side is (values then add up on both sides).
store::Feedback merged_feedback(const ImportOptions& options, store::Feedback stored, store::Feedback incoming) {
  if (!options.append) return incoming;
  bool was_explicit = stored == store::Feedback::Explicit || stored == store::Feedback::Unknown;
  return was_explicit && incoming == store::Feedback::Explicit ? store::Feedback::Explicit : store::Feedback::Implicit;
}

// One import stores one kind of value, and an --append keeps the stored kind
// unless --values says otherwise: ratings summed as counts (or counts
// replacing each other as ratings) would change the data without a word.
void check_kinds(const ImportOptions& options, const ReadResult& in, store::Feedback stored,
                 store::Feedback incoming) {
  // The files that are not ratings, as the messages name them.
  const std::string other = !in.counts_column.empty() ? fmt::format("the counts {}", in.counts_column)
                                                      : fmt::format("{}, which has no value column (1 per row)",
                                                                    in.without_values);
  if (options.values == "auto" && !in.ratings_file.empty() &&
      (!in.counts_column.empty() || !in.without_values.empty())) {
    throw UsageError(fmt::format("{} holds ratings and this import also reads {}: one import stores one kind of "
                                 "value; give --values counts to add them all up as counts{}, or import them "
                                 "separately",
                                 in.ratings_file, other,
                                 in.without_values.empty() ? ", --values ratings to read them all as ratings" : ""));
  }
  if (!options.append) return;
  if (stored == store::Feedback::Implicit && incoming == store::Feedback::Explicit) {
    throw UsageError(fmt::format("the stored values are counts (implicit feedback) and {} holds ratings: appended "
                                 "to counts they would add up; give --values counts to add them as counts, or "
                                 "--replace to store the ratings instead",
                                 in.ratings_file));
  }
  if (stored == store::Feedback::Explicit && incoming == store::Feedback::Implicit && options.values == "auto") {
    throw UsageError(fmt::format("the stored values are ratings (explicit feedback) and this import reads {}: "
                                 "appending them would make every stored rating a count that adds up; give "
                                 "--values counts to do that{}, or --replace",
                                 other,
                                 in.without_values.empty() ? ", --values ratings to read them as ratings" : ""));
  }
}

struct WriteResult {
  store::RatingStats stats;
  std::uint64_t duplicates_with_stored = 0;
  std::uint32_t new_users = 0, new_items = 0, users = 0, items = 0;
  std::uint64_t users_with_ratings = 0;
};

// The LMDB part of the import; may run more than once (map growth), so it
// only reads `g` and the transaction. `incoming` is the files' kind, `merged`
// the kind `g` was folded for (merged_feedback at the start of the import).
WriteResult write_import(const store::Database& db, const store::Txn& txn, const ReadResult& in, const Grouped& g,
                         const ImportOptions& options, store::Feedback incoming, store::Feedback merged) {
  WriteResult out;
  // Checked again here: ratings may have arrived (events) since the import began.
  const auto stored = store::rating_stats(db, txn);
  check_mode(options, stored.count);
  if (merged_feedback(options, stored.feedback, incoming) != merged) {
    throw std::runtime_error(fmt::format("the stored ratings became {} feedback while the import ran (another "
                                         "import changed them): nothing was stored; run the import again",
                                         store::feedback_name(stored.feedback)));
  }
  Placement users = place_ids(db, txn, store::IdKind::User, in.users);
  Placement items = place_ids(db, txn, store::IdKind::Item, in.items);
  out.new_users = users.fresh;
  out.new_items = items.fresh;
  if (!users.identity || !items.identity) {
    log::info("ids were added by another writer during the import: {} users and {} items renumbered to match",
              users.identity ? 0 : users.added.size(), items.identity ? 0 : items.added.size());
  }
  // Stored implicit data keeps adding up whatever the file holds, as one
  // import of both files would.
  auto policy = store::policy_for(merged);
  // One user's imported records, with item indexes placed (and re-sorted by item).
  std::vector<RatingRecord> placed;
  auto records_of = [&](std::uint32_t u) -> std::span<const RatingRecord> {
    std::span<const RatingRecord> span(g.records.data() + g.offsets[u], g.lengths[u]);
    if (items.identity) return span;
    placed.assign(span.begin(), span.end());
    for (auto& r : placed) r.item = items(r.item);
    store::sort_and_fold(placed, policy);  // distinct ids stay distinct: only sorts
    return placed;
  };
  store::RatingStats stats;
  bool first = true;
  Progress progress("writing ratings", g.lengths.size(), "users");
  if (!options.append) {
    store::clear_ratings(db, txn);
    for (std::uint32_t u = 0; u < g.lengths.size(); ++u) {
      if (g.lengths[u] == 0) continue;
      auto span = records_of(u);
      // Keys ascend into an empty table: MDB_APPEND skips the B-tree search
      // (placed user indexes may not ascend).
      store::put_user_ratings(db, txn, users(u), span, users.identity ? MDB_APPEND : 0);
      stats.count += span.size();
      for (const auto& r : span) widen(stats, first, r.value);
      if (options.progress && (u & 4095) == 0) progress.update(u);
    }
    stats.feedback = merged;
  } else {
    stats = store::rating_stats(db, txn);
    first = stats.count == 0;
    std::vector<RatingRecord> rows;
    for (std::uint32_t u = 0; u < g.lengths.size(); ++u) {
      if (g.lengths[u] == 0) continue;
      auto span = records_of(u);
      rows = store::get_user_ratings(db, txn, users(u));
      std::size_t before = rows.size();
      rows.insert(rows.end(), span.begin(), span.end());
      rows.resize(store::sort_and_fold(rows, policy));
      out.duplicates_with_stored += before + span.size() - rows.size();
      store::put_user_ratings(db, txn, users(u), rows);
      stats.count = stats.count - before + rows.size();
      for (const auto& r : rows) widen(stats, first, r.value);
      if (options.progress && (u & 4095) == 0) progress.update(u);
    }
    stats.feedback = merged;
  }
  store::put_rating_stats(db, txn, stats);
  if (progress.elapsed() > 2.0 && options.progress) progress.finish();
  out.stats = stats;
  out.users = store::id_count(db, txn, store::IdKind::User);
  out.items = store::id_count(db, txn, store::IdKind::Item);
  out.users_with_ratings = store::users_with_ratings(db, txn);
  return out;
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
  if (options.values != "auto" && options.values != "ratings" && options.values != "counts") {
    throw UsageError(fmt::format("--values must be auto, ratings or counts, not '{}'", options.values));
  }

  if (!(options.max_bad_fraction >= 0.0 && options.max_bad_fraction <= 1.0)) {
    throw UsageError("--max-bad-fraction must be between 0 and 1");
  }
  // The second '-' would read what the first left: nothing.
  if (std::count(files.begin(), files.end(), std::string("-")) > 1) {
    throw UsageError("'-' (standard input) is named more than once: it can be read only once");
  }
  read.max_bad_fraction = options.max_bad_fraction;

  read.require_values = options.values == "ratings";
  ReadResult in;
  store::Feedback stored_feedback;
  {
    // Fail fast, before reading a large file; checked again when writing.
    auto txn = db.begin_read();
    auto stored = store::rating_stats(db, txn);
    check_mode(options, stored.count);
    stored_feedback = stored.count > 0 ? stored.feedback : store::Feedback::Unknown;
  }
  load_stored_ids(db, in);
  read_rating_files(files, read, in);

  ImportReport report;
  report.rows_read = in.rows_read;
  report.imported = in.rows.size();
  report.skipped = in.skipped;
  report.errors = std::move(in.errors);
  bool counts = options.values == "counts" || (options.values == "auto" && !in.counts_column.empty());
  report.feedback = in.all_explicit && !counts ? store::Feedback::Explicit : store::Feedback::Implicit;
  check_kinds(options, in, stored_feedback, report.feedback);
  if (options.values == "auto" && !in.counts_column.empty()) {
    report.values_note = fmt::format("the values of {} are counts: duplicates and events add up "
                                     "(--values ratings reads them as ratings)",
                                     in.counts_column);
  } else if (options.append && stored_feedback == store::Feedback::Explicit &&
             report.feedback == store::Feedback::Implicit) {
    report.values_note = "the stored ratings are counts from now on: values of one user and item add up";
  }
  log::debug("parsed {} rows in {:.2f}s", report.imported, timer.seconds());

  const store::Feedback incoming = report.feedback;
  const store::Feedback merged = merged_feedback(options, stored_feedback, incoming);
  Grouped g = group_by_user(in.rows, store::policy_for(merged), read.threads);
  std::uint64_t unique = 0;
  for (auto len : g.lengths) unique += len;
  report.duplicates = report.imported - unique;
  log::debug("grouped by user in {:.2f}s", timer.seconds());

  WriteResult written =
      db.write([&](store::Txn& txn) { return write_import(db, txn, in, g, options, incoming, merged); });
  report.duplicates += written.duplicates_with_stored;
  report.ratings = written.stats.count;
  report.feedback = written.stats.feedback;
  report.users = written.users;
  report.items = written.items;
  report.new_users = written.new_users;
  report.new_items = written.new_items;
  report.users_with_ratings = written.users_with_ratings;
  report.seconds = timer.seconds();
  return report;
}

RatingTable load_ratings(const store::Database& db, const store::Txn& txn, std::vector<std::uint64_t>* fingerprints) {
  RatingTable table;
  table.n_users = store::id_count(db, txn, store::IdKind::User);
  table.n_items = store::id_count(db, txn, store::IdKind::Item);
  table.reserve(store::rating_stats(db, txn).count);
  if (fingerprints) fingerprints->assign(table.n_users, 0);
  store::for_each_user_ratings(db, txn, [&](std::uint32_t user, std::span<const RatingRecord> records) {
    // Every index must have an id: the arrays sized by the id counts (the
    // model's, the data statistics') are indexed by them unchecked.
    if (user >= table.n_users) {
      throw std::runtime_error(fmt::format("the database is damaged: ratings are stored for user index {}, but only {} "
                                           "users have ids (run recsys check)",
                                           user, table.n_users));
    }
    for (const auto& r : records) {
      if (r.item >= table.n_items) {
        throw std::runtime_error(fmt::format("the database is damaged: user index {} has a rating of item index {}, "
                                             "but only {} items have ids (run recsys check)",
                                             user, r.item, table.n_items));
      }
      table.push_back(user, r.item, r.value, r.timestamp);
    }
    if (fingerprints && user < fingerprints->size()) (*fingerprints)[user] = store::ratings_fingerprint(records);
  });
  return table;
}

}  // namespace recsys::data
