#include "data/factor_reader.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "data/byte_source.hpp"
#include "data/chunk_parser.hpp"
#include "data/item_fields.hpp"

namespace fs = std::filesystem;

namespace recsys::data {

namespace {

std::string read_all(const std::string& path) {
  auto source = open_source(path);
  std::string out;
  std::size_t used = 0;
  for (;;) {
    out.resize(std::max<std::size_t>(out.size() * 2, 1 << 20));
    std::size_t n = read_full(*source, out.data() + used, out.size() - used);
    used += n;
    if (used < out.size()) break;
  }
  out.resize(used);
  return out;
}

std::vector<std::string> part_files(const std::string& path) {
  if (!fs::is_directory(path)) return {path};
  std::vector<std::string> parts, others;
  for (const auto& entry : fs::directory_iterator(path)) {
    if (!entry.is_regular_file()) continue;
    std::string name = entry.path().filename().string();
    if (name.rfind("part-", 0) == 0) parts.push_back(entry.path().string());
    else if (name[0] != '.' && name[0] != '_') others.push_back(entry.path().string());
  }
  auto& files = parts.empty() ? others : parts;
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::runtime_error("'" + path + "' is a directory without factor files");
  return files;
}

// Calls f(line, line_no) for each line of a file's text (1-based numbers), a
// leading UTF-8 byte order mark and each line's CR left out.
template <typename F>
void for_each_line(std::string_view text, F&& f) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  for (std::size_t line_no = 1; !text.empty(); ++line_no) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    f(line, line_no);
  }
}

class Collector {
 public:
  Collector(ExternalFactors& out, const FactorLimits& limits) : out_(out), limits_(limits) {}

  void add(const std::string& where, std::string id, const std::vector<float>& features) {
    if (auto problem = id_problem(id, "id"); !problem.empty()) throw std::runtime_error(where + ": " + problem);
    if (features.empty()) throw std::runtime_error(where + ": no features");
    if (features.size() > limits_.max_cols) {
      throw std::runtime_error(fmt::format("{}: {} features, more than {} (the widest model recsys serves)", where,
                                           features.size(), limits_.max_cols));
    }
    if (out_.cols == 0) out_.cols = static_cast<std::uint32_t>(features.size());
    if (features.size() != out_.cols) {
      throw std::runtime_error(where + ": " + std::to_string(features.size()) + " features, earlier rows have " +
                               std::to_string(out_.cols));
    }
    for (float f : features) {
      if (!std::isfinite(f)) throw std::runtime_error(where + ": feature is not a finite number");
      if (std::fabs(f) > limits_.max_magnitude) {
        throw std::runtime_error(fmt::format("{}: feature {} is larger in magnitude than {:g} (scores would overflow)",
                                             where, f, limits_.max_magnitude));
      }
    }
    if (!seen_.insert(id).second) throw std::runtime_error(where + ": id " + describe_field(id) + " appears twice");
    out_.ids.push_back(std::move(id));
    out_.data.insert(out_.data.end(), features.begin(), features.end());
  }

 private:
  ExternalFactors& out_;
  const FactorLimits& limits_;
  std::unordered_set<std::string> seen_;
};

// One JSON line {"id":…,"features":[…]}: the whole line is one object (a
// second object after it was dropped without a word), "id" and "features"
// appear once each, other keys are ignored. A number id is an integer: 196 and
// 196.0 are the user "196" of the ratings, as Spark's Long ids are.
void parse_json_line(simdjson::dom::parser& parser, std::string_view line, const std::string& where,
                     Collector& collector) {
  auto fail = [&](std::string_view why) {
    throw std::runtime_error(where + ": not a factor row {\"id\":…,\"features\":[…]} (" + std::string(why) + ")");
  };
  simdjson::dom::element doc;
  if (auto error = parser.parse(line.data(), line.size()).get(doc)) {
    if (error == simdjson::NUMBER_ERROR) {
      fail("a number beyond a 64-bit integer or a double's range; write such ids as strings");
    }
    if (error == simdjson::TAPE_ERROR) fail("text after the object, or a malformed object; one object per line");
    fail(simdjson::error_message(error));
  }
  simdjson::dom::object obj;
  if (doc.get(obj)) fail("not an object");
  std::string id;
  std::vector<float> features;
  bool have_id = false, have_features = false;
  for (auto field : obj) {
    if (field.key == "id") {
      if (have_id) fail("\"id\" appears twice");
      have_id = true;
      std::int64_t i = 0;
      std::uint64_t u = 0;
      double d = 0;
      std::string_view s;
      if (!field.value.get(s)) {
        id.assign(s);
      } else if (!field.value.get(i)) {
        id = std::to_string(i);
      } else if (!field.value.get(u)) {
        id = std::to_string(u);
      } else if (!field.value.get(d) && d == std::floor(d) && std::fabs(d) < 0x1p53) {
        id = std::to_string(static_cast<std::int64_t>(d));
      } else {
        // From 2^53 on a double no longer tells neighbouring integers apart:
        // 9007199254740993.0 reads as ...992.
        throw std::runtime_error(where + ": \"id\" must be a string or a whole number (written as a decimal "
                                 "fraction or exponent: below 2^53)");
      }
    } else if (field.key == "features") {
      if (have_features) fail("\"features\" appears twice");
      have_features = true;
      simdjson::dom::array values;
      if (field.value.get(values)) fail("\"features\" is not an array");
      for (auto v : values) {
        double d = 0;
        if (v.get(d)) fail("a feature is not a number");
        features.push_back(static_cast<float>(d));
      }
    }
  }
  if (!have_id) fail("no \"id\"");
  if (!have_features) fail("no \"features\"");
  collector.add(where, std::move(id), features);
}

// CSV as in a ratings file (RFC 4180): a quoted id may hold commas and
// doubled quotes, and spaces around a field are not part of it ("1 ,0.5" made
// a user "1 " beside the user "1" the ratings have).
void parse_csv_line(std::string_view line, const std::string& where, Collector& collector) {
  std::vector<std::string> cells;
  if (auto problem = items::split_cells(line, ',', cells)) throw std::runtime_error(where + ": " + *problem);
  if (cells.size() < 2) throw std::runtime_error(where + ": expected id,f1,f2,...");
  std::vector<float> features;
  for (std::size_t k = 1; k < cells.size(); ++k) {
    const std::string& field = cells[k];
    float f = 0;
    auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), f);
    if (field.empty() || ec != std::errc() || ptr != field.data() + field.size()) {
      throw std::runtime_error(where + ": feature " + describe_field(field) + " is not a number");
    }
    features.push_back(f);
  }
  collector.add(where, std::move(cells[0]), features);
}

// An index as Spark writes it: "3", or "3.0" from a double-typed column (a
// StringIndexer's output). Anything else is not an index.
std::optional<std::uint64_t> whole_number(std::string_view text) {
  if (auto dot = text.find('.'); dot != std::string_view::npos && dot > 0 &&
                                 text.find_first_not_of('0', dot + 1) == std::string_view::npos) {
    text = text.substr(0, dot);
  }
  std::uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

ExternalFactors read_factor_files(const std::string& path, const FactorLimits& limits) {
  ExternalFactors out;
  Collector collector(out, limits);
  simdjson::dom::parser parser;
  for (const auto& file : part_files(path)) {
    for_each_line(read_all(file), [&](std::string_view line, std::size_t line_no) {
      const std::size_t start = line.find_first_not_of(" \t");
      if (start == std::string_view::npos) return;
      if (line_no == 1 && line.substr(0, 3) == "id,") return;  // CSV header
      std::string where = file + ":" + std::to_string(line_no);
      if (line[start] == '{') {
        parse_json_line(parser, line, where, collector);
      } else {
        parse_csv_line(line, where, collector);
      }
    });
  }
  if (out.ids.empty()) throw std::runtime_error("'" + path + "' holds no factor rows");
  return out;
}

void map_factor_ids(ExternalFactors& factors, const std::string& map_path) {
  std::unordered_map<std::string, std::string> original;  // index as text -> original id
  // original id -> its line and index: one id mapped to two indexes would give
  // two factor rows for one stored id, and one of them would be lost.
  std::unordered_map<std::string, std::tuple<std::string, std::size_t, std::uint64_t>> first_seen;
  // A directory is Spark's CSV output: part files, each with its own header
  // when written with one.
  std::vector<std::string> cells;
  for (const auto& file : part_files(map_path)) {
    const std::string text = read_all(file);
    // Tab-separated when the first line with text has a tab, else CSV: an id
    // may hold the other separator (a quoted "x,y" in a CSV, a comma in a TSV).
    std::string_view first = std::string_view(text).substr(std::min(text.size(), text.find_first_not_of("\r\n")));
    char separator = first.substr(0, first.find('\n')).find('\t') != std::string_view::npos ? '\t' : ',';
    bool before_text = true;  // until the first line with text: a header, or the first row
    for_each_line(text, [&](std::string_view line, std::size_t line_no) {
      if (line.empty()) return;
      const bool at_first = std::exchange(before_text, false);
      std::string where = file + ":" + std::to_string(line_no);
      if (auto problem = items::split_cells(line, separator, cells)) throw std::runtime_error(where + ": " + *problem);
      // A header ("original_id,index") names its columns; a first row whose
      // index has digits ("-1", "0.5") is a bad row, not a header (it was
      // skipped, and the error blamed the factor file's index 0). A header of
      // other than two columns is refused: a third column (a count) would
      // have been read as the index.
      if (at_first && cells.back().find_first_of("0123456789") == std::string::npos) {
        if (cells.size() != 2) {
          throw std::runtime_error(fmt::format("{}: the header names {} columns; a map has two: original_id{}index",
                                               where, cells.size(), separator == '\t' ? "<tab>" : ","));
        }
        return;
      }
      if (cells.size() > 2 && line.find('"') == std::string_view::npos) {
        // Unquoted: the index follows the last separator, and the id may hold
        // the separator ("New York, NY,5" from a writer that did not quote).
        std::size_t sep = line.rfind(separator);
        cells.assign({std::string(trim_spaces(line.substr(0, sep))), std::string(trim_spaces(line.substr(sep + 1)))});
      }
      if (cells.size() != 2) {
        throw std::runtime_error(fmt::format("{}: expected original_id{}index, found {} field{}", where,
                                             separator == '\t' ? "<tab>" : ",", cells.size(),
                                             cells.size() == 1 ? "" : "s"));
      }
      const std::string& index = cells[1];
      auto value = whole_number(index);
      if (!value) throw std::runtime_error(where + ": index " + describe_field(index) + " is not a whole number");
      std::string& id = cells[0];
      if (auto problem = id_problem(id, "original id"); !problem.empty()) {
        throw std::runtime_error(where + ": " + problem);
      }
      if (!original.emplace(std::to_string(*value), id).second) {
        throw std::runtime_error(where + ": index " + std::to_string(*value) + " appears twice");
      }
      if (auto [it, added] = first_seen.try_emplace(id, file, line_no, *value); !added) {
        const auto& [first_file, first_line, first_index] = it->second;
        throw std::runtime_error(fmt::format("{}: original id {} appears twice ({}line {} maps it to index {})", where,
                                             describe_field(id), first_file == file ? "" : first_file + ", ",
                                             first_line, first_index));
      }
    });
  }
  std::unordered_map<std::string_view, std::string> mapped;  // original id -> factor file id
  for (auto& id : factors.ids) {
    // Spark writes integer ids; a double-typed index column gives "3.0".
    auto index = whole_number(id);
    auto it = index ? original.find(std::to_string(*index)) : original.end();
    if (it == original.end()) throw std::runtime_error(map_path + ": no original id for index " + id);
    // "5" and "5.0" are the same index: two factor rows for one original id.
    if (auto [other, added] = mapped.try_emplace(it->second, id); !added) {
      throw std::runtime_error(fmt::format("{}: factor rows {} and {} both map to original id {}", map_path,
                                           other->second, id, describe_field(it->second)));
    }
    id = it->second;
  }
}

}  // namespace recsys::data
