#include "data/factor_reader.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "data/byte_source.hpp"
#include "data/chunk_parser.hpp"

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

void parse_json_line(simdjson::ondemand::parser& parser, std::string_view line, const std::string& where,
                     Collector& collector) {
  simdjson::padded_string padded(line);
  std::vector<float> features;
  std::string id;
  try {
    auto doc = parser.iterate(padded);
    auto obj = doc.get_object();
    auto id_value = obj["id"];
    switch (id_value.type()) {
      case simdjson::ondemand::json_type::number: {
        std::string_view raw = simdjson::to_json_string(id_value);
        id.assign(raw);
        break;
      }
      case simdjson::ondemand::json_type::string:
        id.assign(std::string_view(id_value.get_string()));
        break;
      default:
        throw std::runtime_error(where + ": \"id\" must be a number or a string");
    }
    for (auto v : obj["features"].get_array()) features.push_back(static_cast<float>(double(v)));
  } catch (const simdjson::simdjson_error& e) {
    throw std::runtime_error(where + ": not a factor row {\"id\":…,\"features\":[…]} (" + e.what() + ")");
  }
  collector.add(where, std::move(id), features);
}

void parse_csv_line(std::string_view line, const std::string& where, Collector& collector) {
  std::vector<float> features;
  std::size_t comma = line.find(',');
  if (comma == std::string_view::npos) throw std::runtime_error(where + ": expected id,f1,f2,...");
  // Spaces around the id are not part of it, as in a ratings file: "1 ,0.5"
  // made a user "1 " beside the user "1" the ratings have.
  std::string id(trim_spaces(line.substr(0, comma)));
  std::size_t pos = comma + 1;
  while (pos <= line.size()) {
    std::size_t end = line.find(',', pos);
    if (end == std::string_view::npos) end = line.size();
    std::string_view field = line.substr(pos, end - pos);
    float f = 0;
    auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), f);
    if (ec != std::errc() || ptr != field.data() + field.size()) {
      throw std::runtime_error(where + ": feature '" + std::string(field) + "' is not a number");
    }
    features.push_back(f);
    pos = end + 1;
  }
  collector.add(where, std::move(id), features);
}

}  // namespace

ExternalFactors read_factor_files(const std::string& path, const FactorLimits& limits) {
  ExternalFactors out;
  Collector collector(out, limits);
  simdjson::ondemand::parser parser;
  for (const auto& file : part_files(path)) {
    std::string text = read_all(file);
    std::string_view rest = text;
    if (rest.substr(0, 3) == "\xEF\xBB\xBF") rest.remove_prefix(3);
    for (std::size_t line_no = 1; !rest.empty(); ++line_no) {
      std::size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
      std::string where = file + ":" + std::to_string(line_no);
      if (line.front() == '{') {
        parse_json_line(parser, line, where, collector);
      } else if (line_no == 1 && line.substr(0, 3) == "id,") {
        continue;  // CSV header
      } else {
        parse_csv_line(line, where, collector);
      }
    }
  }
  if (out.ids.empty()) throw std::runtime_error("'" + path + "' holds no factor rows");
  return out;
}

void map_factor_ids(ExternalFactors& factors, const std::string& map_path) {
  std::unordered_map<std::string, std::string> original;  // index as text -> original id
  // original id -> its line and index: one id mapped to two indexes would give
  // two factor rows for one stored id, and one of them would be lost.
  std::unordered_map<std::string, std::pair<std::size_t, std::uint64_t>> first_seen;
  std::string text = read_all(map_path);
  std::string_view rest = text;
  for (std::size_t line_no = 1; !rest.empty(); ++line_no) {
    std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    std::size_t sep = line.find_last_of(",\t");
    std::string where = map_path + ":" + std::to_string(line_no);
    if (sep == std::string_view::npos || sep == 0) throw std::runtime_error(where + ": expected original_id,index");
    std::string_view index = line.substr(sep + 1);
    std::uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(index.data(), index.data() + index.size(), value);
    if (ec != std::errc() || ptr != index.data() + index.size()) {
      // A header row ("original_id,index") names its columns; a first row
      // whose index has digits ("-1", "0.0") is a bad row, not a header (it
      // was skipped, and the error blamed the factor file's index 0).
      if (line_no == 1 && index.find_first_of("0123456789") == std::string_view::npos) continue;
      throw std::runtime_error(where + ": index '" + std::string(index) + "' is not a whole number");
    }
    std::string id(line.substr(0, sep));
    if (auto problem = id_problem(id, "original id"); !problem.empty()) throw std::runtime_error(where + ": " + problem);
    if (!original.emplace(std::to_string(value), id).second) {
      throw std::runtime_error(where + ": index " + std::string(index) + " appears twice");
    }
    if (auto [it, added] = first_seen.try_emplace(id, line_no, value); !added) {
      throw std::runtime_error(fmt::format("{}: original id {} appears twice (line {} maps it to index {})", where,
                                           describe_field(id), it->second.first, it->second.second));
    }
  }
  std::unordered_map<std::string_view, std::string> mapped;  // original id -> factor file id
  for (auto& id : factors.ids) {
    // Spark writes integer ids; a double-typed index column gives "3.0".
    std::string key = id;
    if (key.size() > 2 && key.compare(key.size() - 2, 2, ".0") == 0) key.resize(key.size() - 2);
    auto it = original.find(key);
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
