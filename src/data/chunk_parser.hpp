// The hot loop of the import: parses complete lines of one chunk into rows of
// dense indexes, validating every field. One ChunkParser per thread; bad rows
// become RowErrors (line numbers relative to the chunk part) and are skipped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/format.hpp"
#include "data/id_dictionary.hpp"
#include "store/ratings.hpp"

namespace recsys::data {

// A field without the spaces around it: they are not part of an id or value.
inline std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// Throws when the text's lines end in a carriage return alone (classic Mac
// OS): read as one line, a ratings file was "only a header" and an items file
// had "no valid item rows". `head` is the file's first block, `name` its name.
void refuse_cr_line_ends(std::string_view head, const std::string& name);

// Limits (docs/data.md). A longer line is reported and skipped, never read whole.
inline constexpr std::size_t kMaxLineBytes = std::size_t{1} << 20;
// Ratings above this are treated as a broken file (a counter or timestamp in
// the rating column), not data; implicit counts stay far below it.
inline constexpr double kMaxRating = store::kMaxRatingValue;

struct RowError {
  std::uint64_t line;  // 0-based, relative to the parsed text
  std::string reason;
};

// Quotes a field for an error message: at most 40 bytes, control and
// non-ASCII bytes as \xNN so the message is safe on a terminal.
std::string describe_field(std::string_view field);

// Whether `s` is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates).
bool is_valid_utf8(std::string_view s);

// Why `id` cannot be stored as a user or item id (docs/data.md, "Values"), or
// an empty string when it can. `what` names it: "user id" gives "empty user
// id", "user id is longer than 511 bytes", "user id 'a\xff' is not valid UTF-8".
std::string id_problem(std::string_view id, std::string_view what);

class ChunkParser {
 public:
  ChunkParser(const Layout& layout, const IdDictionary& users, const IdDictionary& items)
      : layout_(layout), users_(users), items_(items), needed_(static_cast<std::size_t>(layout.needed_fields())),
        fields_(needed_) {}

  // Parses `text` (whole lines; the last may lack its '\n'), appending rows.
  // Returns the number of lines seen.
  std::uint64_t parse(std::string_view text);
  // Forgets this chunk's rows, errors and provisional ids.
  void reset();

  // Rows; user/item indexes may carry kProvisional (see LocalIds).
  std::vector<std::uint32_t> users, items;
  std::vector<float> values;
  std::vector<std::int64_t> timestamps;
  std::vector<RowError> errors;
  LocalIds new_users, new_items;

 private:
  bool split(std::string_view line, std::uint64_t line_no);
  void parse_line(std::string_view line, std::uint64_t line_no);
  void fail(std::uint64_t line_no, std::string reason) { errors.push_back({line_no, std::move(reason)}); }

  Layout layout_;
  const IdDictionary& users_;
  const IdDictionary& items_;
  std::size_t needed_;
  std::vector<std::string_view> fields_;
  std::size_t found_ = 0;
  ByteArena unquoted_;  // CSV fields with doubled quotes, rewritten
};

}  // namespace recsys::data
