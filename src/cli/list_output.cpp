#include "cli/list_output.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <cstdio>
#include <stdexcept>
#include <string>

#include "util/text.hpp"

namespace recsys::cli {

namespace {

// The item's metadata after the score: the title, then `field: value` for the
// other fields (lists joined with ", ").
void append_metadata(std::string& out, simdjson::dom::element entry) {
  simdjson::dom::object object;
  if (entry.get(object)) return;
  for (auto [key, value] : object) {
    if (key == "item" || key == "score") continue;
    std::string text;
    std::string_view s;
    if (value.get(s) == simdjson::SUCCESS) {
      text = s;
    } else if (value.is_array()) {
      for (auto element : value.get_array()) {
        if (!text.empty()) text += ", ";
        text += element.is_string() ? std::string(element.get_string().value()) : simdjson::minify(element);
      }
    } else {
      text = simdjson::minify(value);
    }
    text = util::terminal_safe(text);
    out += key == "title" ? fmt::format("  {}", text) : fmt::format("  [{}: {}]", util::terminal_safe(key), text);
  }
}

}  // namespace


void print_list(std::string_view key_name, std::string_view id, const store::ListView& list, std::size_t k,
                bool json, std::string_view title) {
  if (json) {
    std::string body;
    store::append_body(body, key_name, id, list, k);
    body.push_back('\n');
    std::fwrite(body.data(), 1, body.size(), stdout);
    return;
  }
  // Ids and metadata may hold control characters: text output shows them escaped.
  std::string out = fmt::format("{} {}{} (model {}, {})\n", key_name, util::terminal_safe(id),
                                title.empty() ? std::string() : fmt::format(" \"{}\"", util::terminal_safe(title)),
                                list.header().generation,
                                store::list_source_name(list.header().source));
  simdjson::dom::parser parser;
  for (std::size_t i = 0; i < std::min<std::size_t>(k, list.size()); ++i) {
    simdjson::padded_string entry(list.entry(i));
    simdjson::dom::element e;
    if (parser.parse(entry).get(e)) throw std::runtime_error("cached list entry is not JSON: run recsys precompute");
    std::string_view item;
    double score = 0;
    if (e["item"].get(item) || e["score"].get(score)) {
      throw std::runtime_error("cached list entry lacks item or score: run recsys precompute");
    }
    out += fmt::format("{:>4}  {:<20}  {:<9.4g}", i + 1, util::terminal_safe(item), score);
    append_metadata(out, e);
    out += '\n';
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace recsys::cli
