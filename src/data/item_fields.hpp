// One item row split into fields, per item-metadata format (u.item,
// movies.csv, generic CSV/TSV, JSON lines), and the JSON object a row is
// stored as. Used by item_reader.cpp only.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace recsys::data::items {

// A field value: text, a list of texts, or (JSON lines) a JSON scalar kept as
// its JSON text (numbers, booleans).
struct Value {
  enum class Kind { Text, List, Json } kind = Kind::Text;
  std::string text;
  std::vector<std::string> list;
};

struct Field {
  std::string name;
  Value value;
};

struct Row {
  std::string id;
  std::vector<Field> fields;
};

// The 19 genres of MovieLens 100k in u.item's flag order, from the data set's
// u.genre file (fixed by the ML-100k README; the names never change).
inline constexpr const char* kUItemGenres[19] = {
    "unknown", "Action",   "Adventure", "Animation", "Children's", "Comedy",  "Crime",
    "Documentary", "Drama", "Fantasy",  "Film-Noir", "Horror",     "Musical", "Mystery",
    "Romance", "Sci-Fi",   "Thriller",  "War",       "Western"};

// Each parser fills `row` from one line (no line end) or returns the reason
// the line is bad.
std::optional<std::string> parse_uitem(std::string_view line, Row& row);
std::optional<std::string> parse_movies(const std::vector<std::string>& cells, Row& row);
std::optional<std::string> parse_jsonl(std::string_view line, Row& row);

// Splits a CSV (RFC 4180 quoting, one line per row) or TSV line; returns the
// reason when a quoted field is not closed.
std::optional<std::string> split_cells(std::string_view line, char separator, std::vector<std::string>& cells);

// Field names must be usable as JSON keys and query parameters.
std::optional<std::string> bad_field_name(std::string_view name);

// {"title":"...","genres":[...]} with fields in `order` (absent ones and empty
// texts left out).
std::string encode_object(const Row& row, const std::vector<std::string>& order);

}  // namespace recsys::data::items
