// Reading item metadata files (recsys items FILE): MovieLens u.item
// (pipe-separated, Latin-1, 19 genre flags), MovieLens movies.csv (quoted
// titles, |-joined genres) and generic CSV / TSV / JSON-lines files with an id
// column plus any fields. Everything comes out as UTF-8 JSON objects per item;
// nothing here touches the database. Formats and rules: docs/data.md, "Item
// metadata".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/items.hpp"

namespace recsys::data {

// Limits per row (docs/data.md, "Limits"): every answer and every cached list
// holding an item carries its stored fields, so one row must not bloat them.
// A row over a limit is a bad row. Lines: as for ratings (kMaxLineBytes).
inline constexpr std::size_t kMaxTitleBytes = 1024;
// The stored fields of one item together: names and values as UTF-8 bytes, a
// list counting one more byte per element (its separator).
inline constexpr std::size_t kMaxItemBytes = 8192;

enum class ItemFormat { Auto, UItem, Movies, Csv, Tsv, Jsonl };
const char* item_format_name(ItemFormat f);  // "auto", "uitem", "movies", "csv", "tsv", "jsonl"
ItemFormat parse_item_format(std::string_view s);  // throws UsageError

enum class Encoding { Auto, Utf8, Latin1 };
const char* encoding_name(Encoding e);       // "auto", "utf-8", "latin-1"
Encoding parse_encoding(std::string_view s);  // throws UsageError

struct ItemReadOptions {
  ItemFormat format = ItemFormat::Auto;
  // Generic files: "id,title,genres" — the id column first, then the stored
  // fields; header names or 0-based indexes, `name=column` to rename or to
  // name a column of a file without a header. Empty: every column.
  std::string columns;
  // Fields besides the title to store and show (comma-separated); empty: the
  // format's default (u.item: genres; others: all).
  std::string fields;
  Encoding encoding = Encoding::Auto;
  bool strict = false;             // the first bad row throws
  double max_bad_fraction = 0.10;  // a larger share of bad rows throws
  std::size_t max_listed_errors = 20;
};

struct ItemReadResult {
  ItemFormat format = ItemFormat::Auto;  // as detected
  Encoding encoding = Encoding::Utf8;    // as read
  std::vector<store::ItemMeta> items;    // sorted by id, unique
  std::vector<std::string> fields;       // stored field names, title first
  std::uint64_t rows_read = 0;           // data rows (not blank, not the header)
  std::uint64_t skipped = 0;
  std::vector<std::string> errors;       // the first max_listed_errors, "FILE:LINE: reason"
  std::vector<std::string> dropped;      // JSON lines: members never stored, each "why" once (a reserved name, ...)
};

// Parses a whole file already in memory; `name` is used in messages. Throws
// std::runtime_error for a file without valid rows, too many bad rows, or
// (strict) the first bad row; UsageError for options that do not fit the file.
ItemReadResult parse_item_file(std::string_view bytes, const std::string& name, const ItemReadOptions& options);
// Reads `path` ("-" for standard input, .gz and .zst too), then parses it.
ItemReadResult read_item_file(const std::string& path, const ItemReadOptions& options);

// Latin-1 (ISO 8859-1) bytes as UTF-8: every byte is its own code point.
std::string latin1_to_utf8(std::string_view bytes);

}  // namespace recsys::data
