// Reading response bodies and cached lists back in tests (simdjson).
#pragma once

#include <simdjson.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace recsys::test {

struct ParsedBody {
  std::string id;  // value of "user" or "item"
  std::int64_t model = -1;
  std::string source;
  std::vector<std::pair<std::string, double>> items;
};

inline ParsedBody parse_body(std::string_view body, const char* key_name = "user") {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc)) throw std::runtime_error("not JSON: " + std::string(body));
  ParsedBody p;
  std::string_view sv;
  if (doc[key_name].get(sv)) throw std::runtime_error("no id in " + std::string(body));
  p.id = sv;
  if (doc["model"].get(p.model)) throw std::runtime_error("no model in " + std::string(body));
  if (doc["source"].get(sv)) throw std::runtime_error("no source in " + std::string(body));
  p.source = sv;
  simdjson::dom::array items;
  if (doc["items"].get(items)) throw std::runtime_error("no items in " + std::string(body));
  for (auto e : items) {
    std::string_view item;
    double score = 0;
    if (e["item"].get(item) || e["score"].get(score)) throw std::runtime_error("bad entry in " + std::string(body));
    p.items.emplace_back(std::string(item), score);
  }
  return p;
}

inline std::vector<std::string> item_names(const ParsedBody& p) {
  std::vector<std::string> out;
  for (const auto& e : p.items) out.push_back(e.first);
  return out;
}

}  // namespace recsys::test
