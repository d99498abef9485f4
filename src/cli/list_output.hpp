// Printing cached lists on the command line (recommend, similar): the same
// JSON body the server sends, or a table of rank, item and score.
#pragma once

#include <string_view>

#include "store/cache.hpp"

namespace recsys::cli {

// key_name is "user" or "item"; prints one line of JSON or a small table with
// each item's title and fields; `title` is the listed item's own (similar).
void print_list(std::string_view key_name, std::string_view id, const store::ListView& list, std::size_t k,
                bool json, std::string_view title = {});

}  // namespace recsys::cli
