// The rating-line parser (src/data/chunk_parser.*): the bytes are one chunk
// of a rating file, parsed with the layout detection picks for it (or a
// fixed one when detection refuses it). Counts must agree: every line is a
// row, an error or blank, errors are in line order, and values are in range.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "check.hpp"
#include "data/chunk_parser.hpp"
#include "data/format.hpp"
#include "data/id_dictionary.hpp"
#include "util/error.hpp"

namespace {

using namespace recsys::data;

struct Dictionaries {
  IdDictionary users, items;
  Dictionaries() {
    // Some ids "already stored", so both the numeric fast path and the hash map find ids.
    users.load_stored({"1", "2", "u-17", "0"});
    items.load_stored({"10", "242", "a/b c"});
  }
};

Layout layout_for(std::string_view text) {
  try {
    return detect_layout(text.substr(0, 64 * 1024), Format::Auto, {}, "fuzz");
  } catch (const recsys::UsageError&) {
  } catch (const std::runtime_error&) {
  }
  // Detection refused it: still parse with one of the fixed layouts.
  Layout l;
  switch (text.size() % 4) {
    case 0: break;
    case 1: l.format = Format::Tsv, l.rating = 2, l.timestamp = 3; break;
    case 2: l.format = Format::Dat, l.rating = 2; break;
    default: l.rating = 3, l.timestamp = 2; break;
  }
  return l;
}

std::uint64_t count_lines(std::string_view text) {
  std::uint64_t n = static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n'));
  return n + (!text.empty() && text.back() != '\n' ? 1 : 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Dictionaries dicts;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Layout layout = layout_for(text);
  ChunkParser parser(layout, dicts.users, dicts.items);
  std::uint64_t lines = parser.parse(text);

  FUZZ_CHECK(lines == count_lines(text));
  std::size_t rows = parser.users.size();
  FUZZ_CHECK(parser.items.size() == rows && parser.values.size() == rows && parser.timestamps.size() == rows);
  FUZZ_CHECK(rows + parser.errors.size() <= lines);
  for (std::size_t k = 0; k < parser.errors.size(); ++k) {
    FUZZ_CHECK(parser.errors[k].line < lines && !parser.errors[k].reason.empty());
    FUZZ_CHECK(k == 0 || parser.errors[k - 1].line < parser.errors[k].line);
  }
  for (std::size_t r = 0; r < rows; ++r) {
    float v = parser.values[r];
    FUZZ_CHECK(std::isfinite(v) && v >= 0 && v <= kMaxRating);
    if (!layout.has_rating()) FUZZ_CHECK(v == 1.0f);
    // An index is a stored one or a provisional one of this chunk.
    for (auto [index, stored, local] : {std::tuple{parser.users[r], dicts.users.size(), &parser.new_users},
                                        std::tuple{parser.items[r], dicts.items.size(), &parser.new_items}}) {
      if (index & kProvisional) {
        FUZZ_CHECK(!local->empty());
      } else {
        FUZZ_CHECK(index < stored);
      }
    }
  }

  // Parsing again after reset gives the same rows and errors.
  auto users = parser.users;
  auto errors = parser.errors.size();
  parser.reset();
  FUZZ_CHECK(parser.parse(text) == lines);
  FUZZ_CHECK(parser.users == users && parser.errors.size() == errors);
  return 0;
}
