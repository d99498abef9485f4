#include "cli/list_output.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace recsys::cli {

void print_list(std::string_view key_name, std::string_view id, const store::ListView& list, std::size_t k,
                bool json) {
  if (json) {
    std::string body;
    store::append_body(body, key_name, id, list, k);
    body.push_back('\n');
    std::fwrite(body.data(), 1, body.size(), stdout);
    return;
  }
  std::string out = fmt::format("{} {} (model {}, {})\n", key_name, id, list.header().generation,
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
    out += fmt::format("{:>4}  {:<20}  {:.4g}\n", i + 1, item, score);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace recsys::cli
