// Importing rating files into the database (recsys import, recsys train
// FILE...): read and validate every file in memory, map ids, group by user,
// then write everything in ONE LMDB write transaction, so an import lands
// whole or not at all. Formats and policies: docs/data.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/rating_table.hpp"
#include "store/database.hpp"
#include "store/ratings.hpp"

namespace recsys::data {

struct ImportOptions {
  std::string format = "auto";  // auto|csv|tsv|dat
  std::string columns;          // "user,item[,rating[,timestamp]]" names or 0-based indexes; empty: detect
  // What the value column holds: "ratings" (explicit: a re-rating replaces the
  // old one, events must lie on the stored scale), "counts" (implicit: plays,
  // clicks, purchases; duplicates and events add up), or "auto": ratings when
  // every file has a value column, else counts of 1 per row.
  std::string values = "auto";
  bool append = false;          // merge into the stored ratings
  bool replace = false;         // replace the stored ratings; with ratings stored, one of the two is required
  bool strict = false;          // the first malformed row aborts the import (nothing written)
  double max_bad_fraction = 0.10;  // more malformed rows than this share of a file's rows: abort (nothing written)
  int threads = 0;              // 0: all cores
  std::size_t chunk_bytes = std::size_t{32} << 20;
  std::size_t max_listed_errors = 20;
  bool progress = true;
};

struct ImportReport {
  std::uint64_t rows_read = 0;   // data rows seen (header and blank lines excluded)
  std::uint64_t imported = 0;    // valid rows
  std::uint64_t skipped = 0;     // malformed rows
  std::uint64_t duplicates = 0;  // valid rows folded into another rating of the same (user, item)
  std::uint64_t ratings = 0;     // ratings stored after the import
  std::uint32_t users = 0;       // size of the id maps after the import
  std::uint32_t items = 0;
  std::uint32_t new_users = 0;
  std::uint32_t new_items = 0;
  std::uint64_t users_with_ratings = 0;
  store::Feedback feedback = store::Feedback::Unknown;
  std::string values_note;  // why values were read as counts without --values counts ("" otherwise)
  double seconds = 0;
  std::vector<std::string> errors;  // the first max_listed_errors, "FILE:LINE: reason"
};

// Throws UsageError for bad options (also: ratings stored and neither append
// nor replace), std::runtime_error for unreadable files, files without valid
// rows or with too many malformed ones, and (strict) malformed rows; the
// database is then unchanged. Ids new to the import are placed inside the write
// transaction, so a concurrent writer (a server taking events) can add ids
// meanwhile.
ImportReport import_files(store::Database& db, const std::vector<std::string>& files, const ImportOptions& options);

// Every stored rating, sorted by user then item; n_users/n_items are the id
// map sizes (users without ratings included). With `fingerprints`, also each
// user's store::ratings_fingerprint (n_users entries, 0 for no ratings).
RatingTable load_ratings(const store::Database& db, const store::Txn& txn,
                         std::vector<std::uint64_t>* fingerprints = nullptr);

}  // namespace recsys::data
