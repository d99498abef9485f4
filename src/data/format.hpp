// Rating file layouts: the field separator (comma, tab, "::"), whether the
// first line is a header, and which fields hold user, item, rating and
// timestamp. Detected from the first lines of each file unless --format /
// --columns say otherwise; the rules are in docs/data.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace recsys::data {

enum class Format { Auto, Csv, Tsv, Dat };
const char* format_name(Format f);  // "auto", "csv", "tsv", "dat"
// Parses "auto|csv|tsv|dat"; throws UsageError otherwise.
Format parse_format(std::string_view s);

// --columns user,item[,rating[,timestamp]]: each entry a header name or a
// 0-based index; an empty entry means "no such column". Names require a header.
struct ColumnSpec {
  std::vector<std::string> entries;  // empty: not given (defaults apply)
  bool given() const { return !entries.empty(); }
};
// Throws UsageError for a spec with fewer than 2 or more than 4 entries, or an
// empty user/item entry.
ColumnSpec parse_columns(std::string_view spec);

inline constexpr int kNoColumn = -1;

struct Layout {
  Format format = Format::Csv;
  // CSV's field separator: ',' or ';' (detect_csv_separator, also under
  // --format csv: Excel in locales whose decimal mark is a comma, and
  // Book-Crossing's BX-Book-Ratings.csv, write ';'). With ';' a rating may
  // have a decimal comma ("2,5").
  char separator = ',';
  bool header = false;
  int user = 0;
  int item = 1;
  int rating = kNoColumn;
  int timestamp = kNoColumn;
  std::string counts_name;  // the header's name of the value column when it names a count ("plays"), else ""
  // Text columns (a header name like "tag" or "comment") at the rating or
  // timestamp position that are not read as that because no sampled value
  // there is one (MovieLens tags.csv): the file imports without them.
  struct Unread {
    std::string name;
    std::string_view role;  // "rating" or "timestamp" (compared by its text, not its address)
    bool operator==(const Unread&) const = default;
  };
  std::vector<Unread> unread;
  int needed_fields() const;  // 1 + the largest column used
  bool has_rating() const { return rating != kNoColumn; }
};

// Splits one line (no line end) into fields for `format` (`separator`: CSV's,
// ',' or ';'), unquoting RFC 4180 CSV fields; used for detection and header
// names, not in the hot path.
std::vector<std::string> split_fields(std::string_view line, Format format, char separator);

// The fields of `line` split at `sep` under RFC 4180 quoting, or 0 when that
// split is not clean CSV: a quote inside an unquoted field (`m1,"A; B"` split
// at ';' gives `m1,"A`), a quote left open, or text after a closing quote.
std::size_t clean_csv_fields(std::string_view line, char sep);

// CSV's separator for these lines (a file's first, blank ones left out): ';'
// when every line splits cleanly at it (quotes respected) into at least 2
// fields and more than the fewest a comma split gives, else ','. So a header
// or a row without a comma, or rows whose decimal commas give fewer fields
// than the semicolons, make it ';'; ragged rows (an optional last column, a
// header of another width) do not matter; a list like "Action;Comedy" in a
// comma file's column does not make it ';' ("1,31,2.5,Action;Comedy": 4
// against 2). A line that is clean under neither is left out (a bad row).
char detect_csv_separator(const std::vector<std::string_view>& lines);

// Decides the layout from `head`, the first bytes of a file (BOM already
// removed; may end mid-line). `file` names the file in error messages.
Layout detect_layout(std::string_view head, Format forced, const ColumnSpec& columns, const std::string& file);

}  // namespace recsys::data
