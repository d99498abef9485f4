// Item metadata files (src/data/item_reader.*, item_fields.*): the bytes are a
// whole file for `recsys items`, read with each format (auto and forced) and
// encoding. It either refuses with UsageError / runtime_error or returns items
// sorted by unique id, each a valid UTF-8 JSON object holding only the
// reported fields, with every data row counted as stored or skipped.
#include <simdjson.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "check.hpp"
#include "store/ids.hpp"
#include "data/item_reader.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace {

using namespace recsys;
using namespace recsys::data;

void check_result(const ItemReadResult& r) {
  FUZZ_CHECK(!r.items.empty());
  FUZZ_CHECK(r.items.size() + r.skipped == r.rows_read);
  FUZZ_CHECK(std::adjacent_find(r.items.begin(), r.items.end(), [](const auto& a, const auto& b) {
               return a.id >= b.id;
             }) == r.items.end());
  simdjson::dom::parser parser;
  for (const auto& item : r.items) {
    FUZZ_CHECK(!item.id.empty() && item.id.size() <= store::kMaxIdBytes);
    FUZZ_CHECK(json::valid_utf8(item.json));
    simdjson::padded_string padded(item.json);
    simdjson::dom::object object;
    FUZZ_CHECK(parser.parse(padded).get(object) == simdjson::SUCCESS);
    for (auto [key, value] : object) {
      FUZZ_CHECK(std::find(r.fields.begin(), r.fields.end(), key) != r.fields.end());
    }
  }
}

void read(std::string_view bytes, ItemFormat format, Encoding encoding) {
  ItemReadOptions o;
  o.format = format;
  o.encoding = encoding;
  o.max_bad_fraction = 1.0;
  try {
    check_result(parse_item_file(bytes, "fuzz", o));
  } catch (const UsageError& e) {
    FUZZ_CHECK(std::string_view(e.what()).size() > 0);
  } catch (const std::runtime_error& e) {
    FUZZ_CHECK(std::string_view(e.what()).size() > 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (auto f : {ItemFormat::Auto, ItemFormat::UItem, ItemFormat::Movies, ItemFormat::Csv, ItemFormat::Tsv,
                 ItemFormat::Jsonl}) {
    read(bytes, f, Encoding::Auto);
  }
  read(bytes, ItemFormat::Auto, Encoding::Latin1);
  return 0;
}
