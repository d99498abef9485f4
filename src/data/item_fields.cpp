#include "data/item_fields.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>

#include "store/ids.hpp"
#include "util/json.hpp"

namespace recsys::data::items {

namespace {

constexpr std::size_t kUItemFields = 5 + 19;
constexpr std::string_view kNoGenres = "(no genres listed)";  // movies.csv's empty genre list
constexpr std::array kIdKeys{"id", "item", "item_id", "itemId", "movieId"};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    auto pos = s.find(sep);
    out.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) return out;
    s.remove_prefix(pos + 1);
  }
}

Value text(std::string_view s) { return Value{Value::Kind::Text, std::string(trim(s)), {}}; }

std::optional<std::string> check_id(std::string_view id) {
  if (id.empty()) return "the item id is empty";
  if (id.size() > store::kMaxIdBytes) {
    return fmt::format("the item id is {} bytes long (at most {})", id.size(), store::kMaxIdBytes);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> parse_uitem(std::string_view line, Row& row) {
  auto cells = split(line, '|');
  if (cells.size() != kUItemFields) {
    return fmt::format("expected {} |-separated fields (id|title|release date|video release date|IMDb URL|19 genre "
                       "flags), found {}",
                       kUItemFields, cells.size());
  }
  row.id = std::string(trim(cells[0]));
  if (auto bad = check_id(row.id)) return bad;
  row.fields = {{"title", text(cells[1])},
                {"release_date", text(cells[2])},
                {"video_release_date", text(cells[3])},
                {"imdb_url", text(cells[4])},
                {"genres", Value{Value::Kind::List, {}, {}}}};
  auto& genres = row.fields.back().value.list;
  for (std::size_t g = 0; g < 19; ++g) {
    std::string_view flag = trim(cells[5 + g]);
    if (flag == "1") {
      genres.emplace_back(kUItemGenres[g]);
    } else if (flag != "0") {
      return fmt::format("genre flag '{}' for {} (field {}) is not 0 or 1", flag, kUItemGenres[g], 6 + g);
    }
  }
  return std::nullopt;
}

std::optional<std::string> parse_movies(const std::vector<std::string>& cells, Row& row) {
  if (cells.size() != 3) return fmt::format("expected 3 fields (movieId,title,genres), found {}", cells.size());
  row.id = std::string(trim(cells[0]));
  if (auto bad = check_id(row.id)) return bad;
  Value genres{Value::Kind::List, {}, {}};
  if (trim(cells[2]) != kNoGenres) {
    for (auto g : split(cells[2], '|')) {
      if (!trim(g).empty()) genres.list.emplace_back(trim(g));
    }
  }
  row.fields = {{"title", text(cells[1])}, {"genres", std::move(genres)}};
  return std::nullopt;
}

std::optional<std::string> parse_jsonl(std::string_view line, Row& row) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(line);
  simdjson::dom::object object;
  if (auto err = parser.parse(padded).get(object); err) {
    return err == simdjson::INCORRECT_TYPE ? std::string("the line is not a JSON object")
                                           : fmt::format("invalid JSON ({})", simdjson::error_message(err));
  }
  bool have_id = false;
  for (auto [key, value] : object) {
    bool is_id = !have_id && std::find(kIdKeys.begin(), kIdKeys.end(), key) != kIdKeys.end();
    if (is_id) {
      have_id = true;
      std::string_view s;
      if (value.get(s) == simdjson::SUCCESS) {
        row.id = std::string(s);
      } else if (value.is_int64() || value.is_uint64()) {
        row.id = simdjson::minify(value);
      } else {
        return fmt::format("\"{}\" is not a string or an integer", key);
      }
      continue;
    }
    Field field{std::string(key), {}};
    switch (value.type()) {
      case simdjson::dom::element_type::STRING:
        field.value = Value{Value::Kind::Text, std::string(value.get_string().value()), {}};
        break;
      case simdjson::dom::element_type::NULL_VALUE: continue;  // no value: the field is absent
      case simdjson::dom::element_type::ARRAY:
        field.value.kind = Value::Kind::List;
        for (auto e : value.get_array()) {
          std::string_view s;
          if (e.get(s) == simdjson::SUCCESS) {
            field.value.list.emplace_back(s);
          } else if (e.is_number()) {
            field.value.list.push_back(simdjson::minify(e));
          } else {
            return fmt::format("field \"{}\": list elements must be strings or numbers", key);
          }
        }
        break;
      case simdjson::dom::element_type::OBJECT:
        return fmt::format("field \"{}\" is an object: only strings, numbers, booleans and lists are stored", key);
      default:  // numbers and booleans, as their JSON text
        field.value = Value{Value::Kind::Json, simdjson::minify(value), {}};
    }
    row.fields.push_back(std::move(field));
  }
  if (!have_id) return "no item id (\"id\", \"item\", \"item_id\", \"itemId\" or \"movieId\")";
  return check_id(row.id);
}

std::optional<std::string> split_cells(std::string_view line, char separator, std::vector<std::string>& cells) {
  cells.clear();
  if (separator == '\t') {
    for (auto c : split(line, '\t')) cells.emplace_back(trim(c));
    return std::nullopt;
  }
  std::size_t k = 0;
  for (;;) {
    std::string cell;
    while (k < line.size() && line[k] == ' ') ++k;
    if (k < line.size() && line[k] == '"') {
      std::size_t open = k++;
      bool closed = false;
      while (k < line.size()) {
        if (line[k] == '"') {
          if (k + 1 < line.size() && line[k + 1] == '"') {
            cell += '"';
            k += 2;
            continue;
          }
          ++k;
          closed = true;
          break;
        }
        cell += line[k++];
      }
      if (!closed) return fmt::format("the quoted field at column {} is not closed", open + 1);
      // Only spaces may follow the closing quote, as in a ratings file: `"a"b`
      // lost the b (what else was meant is not known).
      while (k < line.size() && line[k] == ' ') ++k;
      if (k < line.size() && line[k] != separator)
        return fmt::format("unexpected text after a closing quote at column {}", k + 1);
    } else {
      auto sep = line.find(separator, k);
      cell = trim(line.substr(k, sep - k));
      k = sep == std::string_view::npos ? line.size() : sep;
    }
    cells.push_back(std::move(cell));
    if (k >= line.size()) return std::nullopt;
    ++k;  // the separator
  }
}

std::optional<std::string> bad_field_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return "field names are 1 to 64 characters";
  if (!std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
               c == '.';
      })) {
    return fmt::format("field name '{}' may only hold letters, digits, '_', '-' and '.'", name);
  }
  // Entries start with "item" and "score"; "k" and "exclude" are query parameters.
  if (name == "item" || name == "score" || name == "k" || name == "exclude" || name.starts_with("exclude_")) {
    return fmt::format("field name '{}' is reserved (item, score, k, exclude, exclude_*)", name);
  }
  return std::nullopt;
}

std::string encode_object(const Row& row, const std::vector<std::string>& order) {
  std::string out = "{";
  for (const auto& name : order) {
    auto it = std::find_if(row.fields.begin(), row.fields.end(), [&](const Field& f) { return f.name == name; });
    if (it == row.fields.end()) continue;
    const Value& v = it->value;
    if (v.kind == Value::Kind::Text && v.text.empty()) continue;
    if (out.size() > 1) out += ',';
    json::append_string(out, name);
    out += ':';
    if (v.kind == Value::Kind::Text) {
      json::append_string(out, v.text);
    } else if (v.kind == Value::Kind::Json) {
      out += v.text;
    } else {
      out += '[';
      for (std::size_t i = 0; i < v.list.size(); ++i) {
        if (i > 0) out += ',';
        json::append_string(out, v.list[i]);
      }
      out += ']';
    }
  }
  out += '}';
  return out;
}

}  // namespace recsys::data::items
