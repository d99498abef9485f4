#include "data/item_reader.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <stdexcept>

#include "data/byte_source.hpp"
#include "data/chunk_parser.hpp"
#include "data/format.hpp"
#include "data/item_fields.hpp"
#include "store/ids.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace recsys::data {

namespace {

using items::Row;
using items::Value;

constexpr std::size_t kMaxFileBytes = std::size_t{1} << 30;
// Header names taken for the id column of a generic file (lower case).
constexpr std::array kIdNames{"id", "item", "itemid", "item_id", "movieid", "movie_id", "productid"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_id_name(std::string_view s) {
  return std::find(kIdNames.begin(), kIdNames.end(), lower(s)) != kIdNames.end();
}

bool is_index(std::string_view s) {
  return !s.empty() && s.size() < 5 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  for (;;) {
    auto bar = s.find('|');
    std::string_view p = s.substr(0, bar);
    while (!p.empty() && p.front() == ' ') p.remove_prefix(1);
    while (!p.empty() && p.back() == ' ') p.remove_suffix(1);
    if (!p.empty()) out.emplace_back(p);
    if (bar == std::string_view::npos) return out;
    s.remove_prefix(bar + 1);
  }
}

std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  for (;;) {
    auto comma = s.find(',');
    out.emplace_back(s.substr(0, comma));
    if (comma == std::string_view::npos) return out;
    s.remove_prefix(comma + 1);
  }
}

// Header names become field names: characters a field name may not hold turn to '_'.
std::string field_name_of(std::string_view header) {
  std::string out(header);
  for (char& c : out) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) c = '_';
  }
  return out;
}

ItemFormat detect_format(std::string_view first_line, const std::string& name) {
  if (name.ends_with(".jsonl") || name.ends_with(".ndjson") || first_line.starts_with("{")) return ItemFormat::Jsonl;
  Row probe;
  if (!items::parse_uitem(first_line, probe)) return ItemFormat::UItem;
  std::vector<std::string> cells;
  if (!items::split_cells(first_line, ',', cells) && cells.size() == 3 && lower(cells[0]) == "movieid" &&
      lower(cells[1]) == "title" && lower(cells[2]) == "genres") {
    return ItemFormat::Movies;
  }
  if (first_line.find('\t') != std::string_view::npos) return ItemFormat::Tsv;
  if (first_line.find_first_of(",;") != std::string_view::npos) return ItemFormat::Csv;
  throw UsageError(name + ": cannot tell the item file's format from its first line: give --format uitem, movies, "
                          "csv, tsv or jsonl");
}

// A CSV item file's separator, from its first 20 lines as for ratings
// (format.hpp detect_csv_separator; Book-Crossing's BX-Books.csv has ';').
char csv_separator(const std::vector<std::pair<std::uint64_t, std::string_view>>& lines) {
  std::vector<std::string_view> sample;
  for (std::size_t k = 0; k < lines.size() && k < 20; ++k) sample.push_back(lines[k].second);
  return detect_csv_separator(sample);
}

// Where a generic CSV/TSV row's id and fields are.
struct GenericLayout {
  bool header = true;
  std::size_t width = 0;  // the header's fields: every row has as many (an unquoted separator shifts the rest)
  std::size_t id = 0;
  std::vector<std::pair<std::string, std::size_t>> fields;  // name, column
};

GenericLayout generic_layout(const std::vector<std::string>& first, const std::string& columns, const std::string& file) {
  GenericLayout g;
  std::vector<std::string> entries;
  if (!columns.empty()) {
    entries = split_commas(columns);
  }
  bool all_indexes = !entries.empty() && std::all_of(entries.begin(), entries.end(), [](const std::string& e) {
    auto eq = e.find('=');
    return is_index(eq == std::string::npos ? e : e.substr(eq + 1));
  });
  g.header = !all_indexes || (!first.empty() && is_id_name(first[0]));
  g.width = g.header ? first.size() : 0;
  auto column_of = [&](const std::string& ref) -> std::size_t {
    if (is_index(ref)) {
      const auto col = static_cast<std::size_t>(std::stoul(ref));
      // Past the header's columns the field was dropped from every row
      // without a word (and items replaces what was stored).
      if (g.header && col >= first.size()) {
        throw UsageError(fmt::format("{}: --columns gives column {} but the header has {} (0 to {})", file, col,
                                     first.size(), first.size() - 1));
      }
      return col;
    }
    for (std::size_t j = 0; g.header && j < first.size(); ++j)
      if (first[j] == ref || lower(first[j]) == lower(ref)) return j;
    throw UsageError(fmt::format("{}: --columns names '{}' but the header has {}", file, ref,
                                 g.header ? fmt::format("only: {}", fmt::join(first, ", ")) : "no names"));
  };
  if (entries.empty()) {
    auto named = std::find_if(first.begin(), first.end(), [](const std::string& h) { return is_id_name(h); });
    g.id = named == first.end() ? 0 : static_cast<std::size_t>(named - first.begin());
    for (std::size_t j = 0; j < first.size(); ++j)
      if (j != g.id) g.fields.emplace_back(field_name_of(first[j]), j);
    return g;
  }
  g.id = column_of(entries[0]);
  for (std::size_t e = 1; e < entries.size(); ++e) {
    auto eq = entries[e].find('=');
    std::string ref = eq == std::string::npos ? entries[e] : entries[e].substr(eq + 1);
    std::size_t col = column_of(ref);
    std::string name = eq != std::string::npos ? entries[e].substr(0, eq)
                       : g.header              ? field_name_of(first[col])
                       : e == 1                ? std::string("title")
                                               : std::string();
    if (name.empty()) {
      throw UsageError(fmt::format("--columns: name column {} of a file without a header, e.g. {}=...", col, "year"));
    }
    g.fields.emplace_back(name, col);
  }
  return g;
}

class Parser {
 public:
  Parser(const std::string& name, const ItemReadOptions& options)
      : name_(name), options_(options), wanted_(options.fields.empty() ? std::vector<std::string>{}
                                                                        : split_commas(options.fields)) {}
  ItemReadResult run(std::string_view text);

 private:
  void bad(std::uint64_t line, const std::string& reason);
  std::vector<std::string> stored_fields(const std::vector<std::string>& available) const;
  bool kept(std::string_view field) const;
  std::optional<std::string> too_large(const Row& row) const;

  const std::string& name_;
  const ItemReadOptions& options_;
  std::vector<std::string> wanted_;  // --fields, split
  ItemReadResult out_;
  std::vector<std::string> first_errors_;
};

void Parser::bad(std::uint64_t line, const std::string& reason) {
  std::string message = fmt::format("{}:{}: {}", name_, line, reason);
  if (options_.strict) throw std::runtime_error(message + " (--strict: nothing stored)");
  ++out_.skipped;
  if (first_errors_.size() < 3) first_errors_.push_back(message);
  if (out_.errors.size() < options_.max_listed_errors) out_.errors.push_back(std::move(message));
}

std::vector<std::string> Parser::stored_fields(const std::vector<std::string>& available) const {
  std::vector<std::string> wanted;
  if (!options_.fields.empty()) {
    wanted = split_commas(options_.fields);
  } else if (out_.format == ItemFormat::UItem) {
    wanted = {"genres"};  // dates and the IMDb URL only on request: every answer carries the fields
  } else {
    wanted = available;
  }
  std::vector<std::string> order;
  if (std::find(available.begin(), available.end(), "title") != available.end()) order.emplace_back("title");
  for (const auto& w : wanted) {
    if (w == "title") continue;
    if (std::find(available.begin(), available.end(), w) == available.end()) {
      throw UsageError(fmt::format("{}: --fields names '{}' but the file has: {}", name_, w, fmt::join(available, ", ")));
    }
    if (std::find(order.begin(), order.end(), w) == order.end()) order.push_back(w);
  }
  return order;
}

// Whether `field` will be stored: the rule of stored_fields, known before the
// rows are read so that a row is only refused for fields that are kept.
bool Parser::kept(std::string_view field) const {
  if (items::bad_field_name(field)) return false;
  if (field == "title") return true;
  if (!wanted_.empty()) return std::find(wanted_.begin(), wanted_.end(), field) != wanted_.end();
  return out_.format != ItemFormat::UItem || field == "genres";
}

std::optional<std::string> Parser::too_large(const Row& row) const {
  std::size_t total = 0;
  for (const auto& f : row.fields) {
    if (!kept(f.name)) continue;
    const Value& v = f.value;
    if (f.name == "title" && v.kind == Value::Kind::Text && v.text.size() > kMaxTitleBytes) {
      return fmt::format("the title is {} bytes long, more than {}", v.text.size(), kMaxTitleBytes);
    }
    total += f.name.size() + v.text.size() + v.list.size();
    for (const auto& e : v.list) total += e.size();
  }
  if (total > kMaxItemBytes) {
    return fmt::format("the item's stored fields are {} bytes, more than {} (leave long fields out with --fields)",
                       total, kMaxItemBytes);
  }
  return std::nullopt;
}

ItemReadResult Parser::run(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  refuse_cr_line_ends(text.substr(0, std::size_t{1} << 20), name_);
  std::string converted;
  out_.encoding = options_.encoding == Encoding::Auto ? Encoding::Utf8 : options_.encoding;
  std::vector<std::pair<std::uint64_t, std::string_view>> lines;
  for (std::uint64_t number = 1; !text.empty(); ++number) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") != std::string_view::npos) lines.emplace_back(number, line);
  }
  if (lines.empty()) throw std::runtime_error(name_ + ": no item rows (the file is empty)");
  out_.format = options_.format == ItemFormat::Auto ? detect_format(lines[0].second, name_) : options_.format;
  // u.item is Latin-1; a copy that was converted to UTF-8 reads as UTF-8.
  if (options_.encoding == Encoding::Latin1 ||
      (options_.encoding == Encoding::Auto && out_.format == ItemFormat::UItem &&
       std::any_of(lines.begin(), lines.end(), [](const auto& l) { return !json::valid_utf8(l.second); }))) {
    out_.encoding = Encoding::Latin1;
  }

  std::size_t first_data = 0;
  GenericLayout layout;
  std::vector<std::string> cells;
  const char sep = out_.format == ItemFormat::Tsv   ? '\t'
                   : out_.format == ItemFormat::Csv ? csv_separator(lines)
                                                    : ',';
  std::vector<std::string> available;
  if (out_.format == ItemFormat::UItem) available = {"title", "release_date", "video_release_date", "imdb_url", "genres"};
  if (out_.format == ItemFormat::Movies) {
    available = {"title", "genres"};
    if (!items::split_cells(lines[0].second, ',', cells) && !cells.empty() && lower(cells[0]) == "movieid") first_data = 1;
  }
  if (out_.format == ItemFormat::Csv || out_.format == ItemFormat::Tsv) {
    if (auto err = items::split_cells(lines[0].second, sep, cells)) throw UsageError(name_ + ":1: header: " + *err);
    layout = generic_layout(cells, options_.columns, name_);
    first_data = layout.header ? 1 : 0;
    for (const auto& [field, col] : layout.fields) {
      if (auto err = items::bad_field_name(field)) throw UsageError(name_ + ": " + *err + " (rename it: --columns)");
      // Two columns under one name: one would silently replace the other.
      if (std::find(available.begin(), available.end(), field) != available.end()) {
        throw UsageError(fmt::format("{}: two columns are named '{}' ({})", name_, field,
                                     options_.columns.empty() ? "in the header: give --columns with distinct names"
                                                              : "in --columns: name each once"));
      }
      available.push_back(field);
    }
  } else if (!options_.columns.empty()) {
    throw UsageError(fmt::format("{}: --columns applies to csv and tsv files, and this one is read as {} (give "
                                 "--format csv or tsv to name its columns)",
                                 name_, item_format_name(out_.format)));
  }

  std::vector<std::pair<std::uint64_t, Row>> rows;
  std::map<std::string, std::uint64_t> seen;  // id -> line
  for (std::size_t n = first_data; n < lines.size(); ++n) {
    auto [number, raw] = lines[n];
    ++out_.rows_read;
    std::string_view line = raw;
    if (raw.size() > kMaxLineBytes) {
      bad(number, fmt::format("line is longer than {} bytes", kMaxLineBytes));
      continue;
    }
    if (out_.encoding == Encoding::Latin1) {
      converted = latin1_to_utf8(raw);
      line = converted;
    } else if (!json::valid_utf8(raw)) {
      bad(number, "not valid UTF-8 (a Latin-1 file? use --encoding latin-1)");
      continue;
    }
    Row row;
    std::optional<std::string> err;
    switch (out_.format) {
      case ItemFormat::UItem: err = items::parse_uitem(line, row); break;
      case ItemFormat::Jsonl: err = items::parse_jsonl(line, row); break;
      case ItemFormat::Movies:
        err = items::split_cells(line, ',', cells);
        if (!err) err = items::parse_movies(cells, row);
        break;
      default:
        err = items::split_cells(line, sep, cells);
        if (!err && layout.width > 0 && cells.size() != layout.width) {
          err = fmt::format("expected {} fields as the header has, found {}", layout.width, cells.size());
        }
        if (!err && layout.id >= cells.size()) err = fmt::format("no id column {} (the row has {} fields)", layout.id, cells.size());
        if (err) break;
        row.id = cells[layout.id];
        if (row.id.empty() || row.id.size() > store::kMaxIdBytes) {
          err = fmt::format("the item id is empty or longer than {} bytes", store::kMaxIdBytes);
        }
        for (const auto& [field, col] : layout.fields) {
          if (col < cells.size()) row.fields.push_back({field, Value{Value::Kind::Text, cells[col], {}}});
        }
    }
    if (!err) err = too_large(row);
    if (!err && !seen.emplace(row.id, number).second) err = fmt::format("item '{}' repeats line {}", row.id, seen[row.id]);
    if (err) {
      bad(number, *err);
      continue;
    }
    if (out_.format == ItemFormat::Jsonl) {
      for (const auto& f : row.fields) {
        if (std::find(available.begin(), available.end(), f.name) != available.end()) continue;
        if (auto why = items::bad_field_name(f.name)) {
          // Named once, not per row: a member like "score" is in every line.
          if (out_.dropped.size() < 20 && std::find(out_.dropped.begin(), out_.dropped.end(), *why) == out_.dropped.end())
            out_.dropped.push_back(*why);
        } else {
          available.push_back(f.name);
        }
      }
    }
    rows.emplace_back(number, std::move(row));
  }
  if (rows.empty()) {
    throw std::runtime_error(fmt::format("{}: no valid item rows{}", name_,
                                         out_.skipped > 0 ? fmt::format(" ({} bad; the first: {})", out_.skipped,
                                                                        first_errors_[0])
                                                          : std::string(" (only a header)")));
  }
  if (static_cast<double>(out_.skipped) > options_.max_bad_fraction * static_cast<double>(out_.rows_read)) {
    throw std::runtime_error(fmt::format(
        "{}: {} of {} rows ({:.1f}%) are bad, more than --max-bad-fraction {} allows: nothing stored (the wrong "
        "file, or check --format and --columns). The first: {}",
        name_, out_.skipped, out_.rows_read, 100.0 * static_cast<double>(out_.skipped) / static_cast<double>(out_.rows_read),
        options_.max_bad_fraction, fmt::join(first_errors_, "; ")));
  }
  out_.fields = stored_fields(available);
  // Generic text columns: a field with '|' in any value is a list (MovieLens' genre convention).
  if (out_.format == ItemFormat::Csv || out_.format == ItemFormat::Tsv) {
    for (const auto& name : out_.fields) {
      bool list = std::any_of(rows.begin(), rows.end(), [&](const auto& r) {
        return std::any_of(r.second.fields.begin(), r.second.fields.end(),
                           [&](const items::Field& f) { return f.name == name && f.value.text.find('|') != std::string::npos; });
      });
      if (!list || name == "title") continue;
      for (auto& [number, row] : rows) {
        for (auto& f : row.fields) {
          if (f.name == name) f.value = Value{Value::Kind::List, {}, split_list(f.value.text)};
        }
      }
    }
  }
  out_.items.reserve(rows.size());
  for (const auto& [number, row] : rows) out_.items.push_back({row.id, items::encode_object(row, out_.fields)});
  std::sort(out_.items.begin(), out_.items.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return std::move(out_);
}

}  // namespace

const char* item_format_name(ItemFormat f) {
  switch (f) {
    case ItemFormat::UItem: return "uitem";
    case ItemFormat::Movies: return "movies";
    case ItemFormat::Csv: return "csv";
    case ItemFormat::Tsv: return "tsv";
    case ItemFormat::Jsonl: return "jsonl";
    default: return "auto";
  }
}

ItemFormat parse_item_format(std::string_view s) {
  for (auto f : {ItemFormat::Auto, ItemFormat::UItem, ItemFormat::Movies, ItemFormat::Csv, ItemFormat::Tsv,
                 ItemFormat::Jsonl}) {
    if (s == item_format_name(f)) return f;
  }
  throw UsageError("--format must be auto, uitem, movies, csv, tsv or jsonl, not '" + std::string(s) + "'");
}

const char* encoding_name(Encoding e) {
  return e == Encoding::Utf8 ? "utf-8" : e == Encoding::Latin1 ? "latin-1" : "auto";
}

Encoding parse_encoding(std::string_view s) {
  if (s == "auto") return Encoding::Auto;
  if (s == "utf-8" || s == "utf8") return Encoding::Utf8;
  if (s == "latin-1" || s == "latin1" || s == "iso-8859-1") return Encoding::Latin1;
  throw UsageError("--encoding must be auto, utf-8 or latin-1, not '" + std::string(s) + "'");
}

std::string latin1_to_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 8);
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out.push_back(ch);
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

ItemReadResult parse_item_file(std::string_view bytes, const std::string& name, const ItemReadOptions& options) {
  return Parser(name, options).run(bytes);
}

ItemReadResult read_item_file(const std::string& path, const ItemReadOptions& options) {
  auto source = open_source(path);
  std::string bytes;
  char buf[1 << 16];
  while (std::size_t got = read_full(*source, buf, sizeof buf)) {
    bytes.append(buf, got);
    if (bytes.size() > kMaxFileBytes) throw std::runtime_error(source->name() + ": item files are limited to 1 GiB");
  }
  return parse_item_file(bytes, source->name(), options);
}

}  // namespace recsys::data
