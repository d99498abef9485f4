// Reads rating files into memory: the chunk loop (large blocks split at line
// ends, parsed on several threads), per-file layout detection, error
// collection and id mapping. Nothing here touches the database.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/format.hpp"
#include "data/id_dictionary.hpp"
#include "data/rating_table.hpp"

namespace recsys::data {

struct ReadOptions {
  Format format = Format::Auto;
  ColumnSpec columns;
  bool strict = false;                           // the first bad row throws
  bool require_values = false;                   // a file without a value column is a UsageError (--values ratings)
  double max_bad_fraction = 1.0;                 // a file with a larger share of bad rows throws
  const char* refused = "nothing imported";      // what that error says became of the file
  unsigned threads = 1;
  std::size_t chunk_bytes = std::size_t{32} << 20;  // read block; lines longer are skipped unread
  std::size_t max_listed_errors = 20;
  bool progress = true;
};

struct ReadResult {
  RatingTable rows;  // in file order; n_users/n_items = dictionary sizes
  IdDictionary users, items;  // load the stored ids before reading
  std::uint64_t rows_read = 0;  // data lines (not blank, not the header)
  std::uint64_t skipped = 0;    // malformed rows
  std::vector<std::string> errors;  // the first max_listed_errors, as "FILE:LINE: reason"
  bool all_explicit = true;        // every file had a rating column
  std::string without_values;      // the first file without one ("" when every file had one)
  std::string counts_column;       // the first value column named as a count: "'plays' in FILE" ("" if none)
  std::string ratings_file;        // the first file whose value column is not named as a count ("" if none)
};

// Appends the rows of every file to `out`. Throws on unreadable files, a file
// without valid rows or with too many bad ones, or (strict) the first bad row.
void read_rating_files(const std::vector<std::string>& files, const ReadOptions& options, ReadResult& out);

}  // namespace recsys::data
