#include "data/format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <stdexcept>

#include "util/error.hpp"
#include "util/iso_time.hpp"

namespace recsys::data {

namespace {

// Header names recognised per column, compared lower-case without '_', '-', ' '.
constexpr std::array kUserNames{"user", "userid", "uid", "users", "customer", "customerid", "visitor", "visitorid",
                                "member", "memberid", "reviewer", "reviewerid"};
constexpr std::array kItemNames{"item",  "itemid", "iid",     "items", "movie", "movieid", "product", "productid",
                                "track", "trackid", "song",   "songid", "artist", "artistid", "book", "bookid",
                                "isbn",  "asin",   "article", "articleid"};
constexpr std::array kRatingNames{"rating", "ratings", "score", "value", "stars", "bookrating", "preference"};
// Value columns that count interactions: with `--values auto` they import as
// implicit feedback (duplicates and events add up). `weight` is HetRec
// Last.fm's listening count (user_artists.dat: userID artistID weight).
constexpr std::array kCountNames{"count",  "counts", "plays",     "playcount", "listens", "listencount",
                                 "clicks", "views",  "purchases", "quantity", "weight"};
// Columns of text that may sit where a rating or timestamp would by position
// (MovieLens tags.csv: userId,movieId,tag,timestamp). Only these are passed
// over, and only when no sampled value fits: an unknown name over values
// that do not parse ("overall" = "4.5/5") stays the column, and its rows fail.
constexpr std::array kTextNames{"tag",   "tags",  "comment", "comments", "review",      "reviews",  "text",
                                "title", "genre", "genres",  "label",    "labels",      "summary",  "description",
                                "category", "categories", "name"};
constexpr std::array kTimestampNames{"timestamp", "time", "ts", "date", "datetime", "unixtime", "createdat",
                                     "unixreviewtime"};

std::string normalise(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '_' || c == '-' || c == ' ') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

template <std::size_t N>
bool is_one_of(std::string_view name, const std::array<const char*, N>& names) {
  std::string n = normalise(name);
  return std::any_of(names.begin(), names.end(), [&](const char* k) { return n == k; });
}

bool is_known_name(std::string_view name) {
  return is_one_of(name, kUserNames) || is_one_of(name, kItemNames) || is_one_of(name, kRatingNames) ||
         is_one_of(name, kCountNames) || is_one_of(name, kTimestampNames);
}

bool is_number(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  double v;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> sample_lines(std::string_view head, std::size_t max_lines) {
  std::vector<std::string_view> lines;
  while (!head.empty() && lines.size() < max_lines) {
    auto nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head = nl == std::string_view::npos ? std::string_view{} : head.substr(nl + 1);
    while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!trim(line).empty()) lines.push_back(line);
  }
  return lines;
}

template <std::size_t N>
int find_named(const std::vector<std::string>& header, const std::array<const char*, N>& names) {
  for (std::size_t j = 0; j < header.size(); ++j)
    if (is_one_of(header[j], names)) return static_cast<int>(j);
  return kNoColumn;
}

// One --columns entry: an index, a header name, or empty for "none".
int resolve_entry(const std::string& entry, const std::vector<std::string>& header, const std::string& file) {
  if (entry.empty()) return kNoColumn;
  if (std::all_of(entry.begin(), entry.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int v = 0;
    auto [p, ec] = std::from_chars(entry.data(), entry.data() + entry.size(), v);
    if (ec != std::errc() || v > 1000) throw UsageError("--columns: column index " + entry + " is too large");
    return v;
  }
  for (std::size_t j = 0; j < header.size(); ++j)
    if (header[j] == entry) return static_cast<int>(j);
  for (std::size_t j = 0; j < header.size(); ++j)
    if (normalise(header[j]) == normalise(entry)) return static_cast<int>(j);
  std::string names;
  for (const auto& h : header) names += (names.empty() ? "" : ", ") + h;
  throw UsageError(file + ": --columns names '" + entry + "' but the header has " +
                   (header.empty() ? std::string("no such names") : "only: " + names));
}

}  // namespace

const char* format_name(Format f) {
  switch (f) {
    case Format::Csv: return "csv";
    case Format::Tsv: return "tsv";
    case Format::Dat: return "dat";
    default: return "auto";
  }
}

Format parse_format(std::string_view s) {
  if (s == "auto") return Format::Auto;
  if (s == "csv") return Format::Csv;
  if (s == "tsv") return Format::Tsv;
  if (s == "dat") return Format::Dat;
  throw UsageError("--format must be auto, csv, tsv or dat, not '" + std::string(s) + "'");
}

ColumnSpec parse_columns(std::string_view spec) {
  ColumnSpec out;
  std::size_t start = 0;
  for (;;) {
    auto comma = spec.find(',', start);
    out.entries.emplace_back(trim(spec.substr(start, comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (out.entries.size() < 2 || out.entries.size() > 4) {
    throw UsageError("--columns takes 2 to 4 entries: user,item[,rating[,timestamp]] (names or 0-based indexes)");
  }
  if (out.entries[0].empty() || out.entries[1].empty()) {
    throw UsageError("--columns: the user and item columns cannot be empty");
  }
  return out;
}

int Layout::needed_fields() const { return 1 + std::max({user, item, rating, timestamp}); }

std::vector<std::string> split_fields(std::string_view line, Format format, char separator) {
  std::vector<std::string> out;
  if (format == Format::Dat || format == Format::Tsv) {
    std::string_view sep = format == Format::Dat ? "::" : "\t";
    for (;;) {
      auto pos = line.find(sep);
      out.emplace_back(trim(line.substr(0, pos)));
      if (pos == std::string_view::npos) break;
      line.remove_prefix(pos + sep.size());
    }
    return out;
  }
  // CSV (RFC 4180): a quoted field may hold commas and doubled quotes.
  std::size_t k = 0;
  for (;;) {
    std::string field;
    while (k < line.size() && line[k] == ' ') ++k;
    if (k < line.size() && line[k] == '"') {
      ++k;
      while (k < line.size()) {
        if (line[k] == '"') {
          if (k + 1 < line.size() && line[k + 1] == '"') {
            field += '"';
            k += 2;
            continue;
          }
          ++k;
          break;
        }
        field += line[k++];
      }
      while (k < line.size() && line[k] != separator) ++k;
    } else {
      auto sep = line.find(separator, k);
      field = trim(line.substr(k, sep - k));
      k = sep == std::string_view::npos ? line.size() : sep;
    }
    out.push_back(std::move(field));
    if (k >= line.size()) break;
    ++k;  // the separator
  }
  return out;
}

std::size_t clean_csv_fields(std::string_view line, char sep) {
  std::size_t n = 0;
  std::size_t k = 0;
  for (;;) {
    while (k < line.size() && line[k] == ' ') ++k;
    if (k < line.size() && line[k] == '"') {
      for (++k;; ++k) {
        if (k >= line.size()) return 0;
        if (line[k] != '"') continue;
        if (k + 1 < line.size() && line[k + 1] == '"') {
          ++k;
          continue;
        }
        ++k;
        break;
      }
      while (k < line.size() && line[k] == ' ') ++k;
      if (k < line.size() && line[k] != sep) return 0;
    } else {
      const auto end = line.find(sep, k);
      if (line.substr(k, end - k).find('"') != std::string_view::npos) return 0;
      k = end == std::string_view::npos ? line.size() : end;
    }
    ++n;
    if (k >= line.size()) return n;
    ++k;  // the separator
  }
}

char detect_csv_separator(const std::vector<std::string_view>& lines) {
  std::size_t comma = SIZE_MAX;
  std::size_t semicolon = SIZE_MAX;
  for (auto line : lines) {
    const std::size_t c = clean_csv_fields(line, ',');
    const std::size_t s = clean_csv_fields(line, ';');
    if (c == 0 && s == 0) continue;  // a bad row either way ("B "x" C"): it decides nothing
    comma = std::min(comma, c);
    semicolon = std::min(semicolon, s);
  }
  return semicolon != SIZE_MAX && semicolon >= 2 && semicolon > comma ? ';' : ',';
}

Layout detect_layout(std::string_view head, Format forced, const ColumnSpec& columns, const std::string& file) {
  Layout layout;
  auto lines = sample_lines(head, 20);
  if (forced != Format::Auto) {
    layout.format = forced;
  } else if (!lines.empty()) {
    auto all_have = [&](std::string_view sep) {
      return std::all_of(lines.begin(), lines.end(), [&](std::string_view l) { return l.find(sep) != l.npos; });
    };
    layout.format = all_have("::") ? Format::Dat : all_have("\t") ? Format::Tsv : Format::Csv;
  }
  if (layout.format == Format::Csv) layout.separator = detect_csv_separator(lines);
  const char separator = layout.separator;
  std::vector<std::string> first =
      lines.empty() ? std::vector<std::string>{} : split_fields(lines[0], layout.format, separator);
  std::vector<std::vector<std::string>> rest;
  for (std::size_t k = 1; k < lines.size(); ++k) rest.push_back(split_fields(lines[k], layout.format, separator));
  // A number as the parser reads it: with ';', "2,5" is 2.5.
  auto numeric = [&](std::string field) {
    if (separator == ';') std::replace(field.begin(), field.end(), ',', '.');
    return is_number(field);
  };

  // Header: a recognised column name, or a column whose first value is not a
  // number while every later sampled value is (ids are opaque, so columns 0
  // and 1 need at least three numeric rows below to count).
  bool names_in_spec = std::any_of(columns.entries.begin(), columns.entries.end(), [](const std::string& e) {
    return !e.empty() && !std::all_of(e.begin(), e.end(), [](char c) { return c >= '0' && c <= '9'; });
  });
  bool header = names_in_spec || std::any_of(first.begin(), first.end(), [](const std::string& f) {
                  return is_known_name(f);
                });
  for (std::size_t j = 0; !header && j < first.size(); ++j) {
    if (numeric(first[j]) || rest.size() < (j < 2 ? 3u : 1u)) continue;
    header = std::all_of(rest.begin(), rest.end(),
                         [&](const std::vector<std::string>& r) { return j < r.size() && numeric(r[j]); });
  }
  layout.header = header;
  std::vector<std::string> names = header ? first : std::vector<std::string>{};
  std::size_t n_fields = header ? first.size() : (!first.empty() ? first.size() : 3);

  if (columns.given()) {
    const auto& e = columns.entries;
    layout.user = resolve_entry(e[0], names, file);
    layout.item = resolve_entry(e[1], names, file);
    layout.rating = e.size() > 2 ? resolve_entry(e[2], names, file) : kNoColumn;
    layout.timestamp = e.size() > 3 ? resolve_entry(e[3], names, file) : kNoColumn;
    // An index past every sampled row is a wrong option, not a file of
    // malformed rows (which a few short rows among long ones are).
    const std::size_t needed = static_cast<std::size_t>(layout.needed_fields());
    auto short_row = [&](const std::vector<std::string>& r) { return r.size() < needed; };
    if (!first.empty() && short_row(first) && std::all_of(rest.begin(), rest.end(), short_row)) {
      std::size_t widest = first.size();
      for (const auto& r : rest) widest = std::max(widest, r.size());
      throw UsageError(fmt::format("{}: --columns gives column index {} but its rows have at most {} field{} (indexes 0 to {})",
                                   file, needed - 1, widest, widest == 1 ? "" : "s", widest - 1));
    }
  } else if (header) {
    int user = find_named(names, kUserNames), item = find_named(names, kItemNames);
    int rating = find_named(names, kRatingNames), timestamp = find_named(names, kTimestampNames);
    if (rating == kNoColumn) rating = find_named(names, kCountNames);
    // Columns without a recognised name fall back to the usual positions.
    auto free_at = [&](int j) {
      return j < static_cast<int>(n_fields) && j != user && j != item && j != rating && j != timestamp &&
             !is_known_name(names[static_cast<std::size_t>(j)]);
    };
    if (user == kNoColumn && free_at(0)) user = 0;
    if (item == kNoColumn && free_at(1)) item = 1;
    // A text column (kTextNames) is not the rating or the timestamp by its
    // position when no sampled value there is one: tags.csv's "tag" made
    // every row malformed.
    auto fallback = [&](int j, std::string_view role, auto&& is_value) {
      if (!free_at(j)) return kNoColumn;
      const auto col = static_cast<std::size_t>(j);
      if (!is_one_of(names[col], kTextNames)) return j;
      bool written = false;
      bool fits = false;
      for (const auto& r : rest) {
        if (col >= r.size() || r[col].empty()) continue;
        written = true;
        fits = fits || is_value(r[col]);
      }
      if (!written || fits) return j;
      layout.unread.push_back({names[col], role});
      return kNoColumn;
    };
    if (rating == kNoColumn) rating = fallback(2, "rating", numeric);
    if (timestamp == kNoColumn)
      timestamp = fallback(3, "timestamp", [](const std::string& v) { return util::parse_timestamp(v).has_value(); });
    if (user == kNoColumn || item == kNoColumn) {
      throw UsageError(file + ": cannot tell the user and item columns from the header '" +
                       std::string(lines[0]) + "': name them with --columns");
    }
    layout.user = user;
    layout.item = item;
    layout.rating = rating;
    layout.timestamp = timestamp;
  } else {
    layout.rating = n_fields > 2 ? 2 : kNoColumn;
    layout.timestamp = n_fields > 3 ? 3 : kNoColumn;
  }
  auto distinct = [](int a, int b) { return a == kNoColumn || b == kNoColumn || a != b; };
  if (!distinct(layout.user, layout.item) || !distinct(layout.user, layout.rating) ||
      !distinct(layout.item, layout.rating) || !distinct(layout.timestamp, layout.rating) ||
      !distinct(layout.timestamp, layout.user) || !distinct(layout.timestamp, layout.item)) {
    throw UsageError(file + ": --columns names the same column twice");
  }
  if (layout.rating != kNoColumn && static_cast<std::size_t>(layout.rating) < names.size() &&
      is_one_of(names[static_cast<std::size_t>(layout.rating)], kCountNames)) {
    layout.counts_name = names[static_cast<std::size_t>(layout.rating)];
  }
  return layout;
}

}  // namespace recsys::data
