// Helpers for import tests: a database in a TempDir, importing text written
// to a file, and a dump of everything stored (ids resolved back to strings)
// so tests compare contents, not counters.
#pragma once

#include <string>
#include <tuple>
#include <vector>

#include "data/import.hpp"
#include "store/ids.hpp"
#include "store/ratings.hpp"
#include "temp_dir.hpp"

namespace recsys::test {

inline store::Database open_db(const TempDir& dir, store::OpenMode mode = store::OpenMode::Create,
                               std::size_t map = std::size_t{1} << 28) {
  store::OpenOptions o;
  o.path = dir / "db";
  o.mode = mode;
  o.initial_map_size = map;
  return store::Database::open(o);
}

inline data::ImportOptions quiet_options() {
  data::ImportOptions o;
  o.progress = false;
  o.threads = 1;
  o.max_bad_fraction = 1.0;  // tests of single rows mix good and bad ones freely
  o.replace = true;          // re-imports replace unless a test appends
  return o;
}

inline data::ImportReport import_text(store::Database& db, const TempDir& dir, const std::string& name,
                                      const std::string& content, data::ImportOptions options = quiet_options()) {
  auto path = dir.write(name, content);
  return data::import_files(db, {path.string()}, options);
}

using Row = std::tuple<std::string, std::string, float, std::int64_t>;

struct Dump {
  std::vector<std::string> users;  // index -> id
  std::vector<std::string> items;
  std::vector<Row> ratings;        // sorted by user index, then item index
  store::RatingStats stats;
  bool operator==(const Dump& o) const {
    return users == o.users && items == o.items && ratings == o.ratings && stats.count == o.stats.count &&
           stats.min_value == o.stats.min_value && stats.max_value == o.stats.max_value &&
           stats.feedback == o.stats.feedback;
  }
};

inline Dump dump(store::Database& db) {
  Dump d;
  auto txn = db.begin_read();
  d.users = store::load_id_strings(db, txn, store::IdKind::User);
  d.items = store::load_id_strings(db, txn, store::IdKind::Item);
  d.stats = store::rating_stats(db, txn);
  auto t = data::load_ratings(db, txn);
  for (std::size_t k = 0; k < t.size(); ++k) {
    d.ratings.emplace_back(d.users.at(t.users[k]), d.items.at(t.items[k]), t.values[k], t.timestamps[k]);
  }
  return d;
}

}  // namespace recsys::test
