// Format detection (src/data/format.*): the bytes are the head of a rating
// file. Detection runs as `recsys import` does (auto), with each forced
// format, and with the first line taken as a --columns spec. It either refuses
// with UsageError / runtime_error or returns a layout whose columns are
// distinct and in range, which the chunk parser can then use on the head.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "check.hpp"
#include "data/chunk_parser.hpp"
#include "data/format.hpp"
#include "data/id_dictionary.hpp"
#include "util/error.hpp"

namespace {

using namespace recsys;
using namespace recsys::data;

void check_layout(const Layout& l, Format forced, std::string_view head) {
  FUZZ_CHECK(l.format == Format::Csv || l.format == Format::Tsv || l.format == Format::Dat);
  FUZZ_CHECK(l.separator == ',' || (l.separator == ';' && l.format == Format::Csv));
  if (forced != Format::Auto) FUZZ_CHECK(l.format == forced);
  FUZZ_CHECK(l.user >= 0 && l.item >= 0 && l.user != l.item);
  FUZZ_CHECK(l.rating >= kNoColumn && l.timestamp >= kNoColumn);
  FUZZ_CHECK(l.rating == kNoColumn || (l.rating != l.user && l.rating != l.item));
  FUZZ_CHECK(l.timestamp == kNoColumn || (l.timestamp != l.user && l.timestamp != l.item && l.timestamp != l.rating));
  FUZZ_CHECK(l.needed_fields() >= 2 && l.needed_fields() <= 1001);
  // The layout must be usable on the text it came from.
  IdDictionary users, items;
  ChunkParser parser(l, users, items);
  parser.parse(head);
  FUZZ_CHECK(parser.users.size() + parser.errors.size() <= static_cast<std::size_t>(head.size()) + 1);
}

void detect(std::string_view head, Format forced, const ColumnSpec& columns) {
  try {
    check_layout(detect_layout(head, forced, columns, "fuzz.csv"), forced, head);
  } catch (const UsageError& e) {
    FUZZ_CHECK(std::string_view(e.what()).size() > 0);
  } catch (const std::runtime_error& e) {
    FUZZ_CHECK(std::string_view(e.what()).size() > 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view head(reinterpret_cast<const char*>(data), size);
  for (Format f : {Format::Auto, Format::Csv, Format::Tsv, Format::Dat}) {
    detect(head, f, {});
    for (char separator : {',', ';'})
      for (const auto& field : split_fields(head.substr(0, head.find('\n')), f, separator)) {
        FUZZ_CHECK(field.size() <= head.size());
      }
  }
  // A clean split agrees with the lenient one, and a semicolon is chosen only
  // where it splits every line it counts (clean at either separator) into 2
  // fields or more. (The first form of this check held lines bad at both
  // separators too, which detection leaves out: corpus/format/semicolon-one-bad-line.)
  std::vector<std::string_view> lines;
  for (std::string_view rest = head; !rest.empty() && lines.size() < 20;) {
    std::string_view line = rest.substr(0, rest.find('\n'));
    rest = line.size() < rest.size() ? rest.substr(line.size() + 1) : std::string_view{};
    lines.push_back(line);
  }
  for (auto line : lines)
    for (char separator : {',', ';'})
      if (const auto n = clean_csv_fields(line, separator); n != 0)
        FUZZ_CHECK(n == split_fields(line, Format::Csv, separator).size());
  if (detect_csv_separator(lines) == ';')
    for (auto line : lines)
      if (clean_csv_fields(line, ',') != 0 || clean_csv_fields(line, ';') != 0)
        FUZZ_CHECK(clean_csv_fields(line, ';') >= 2);
  std::string_view first = head.substr(0, head.find('\n'));
  ColumnSpec columns;
  try {
    columns = parse_columns(first);
    FUZZ_CHECK(columns.entries.size() >= 2 && columns.entries.size() <= 4);
  } catch (const UsageError&) {
    return 0;
  }
  std::string_view rest = first.size() < head.size() ? head.substr(first.size() + 1) : std::string_view{};
  detect(rest, Format::Auto, columns);
  detect(rest, Format::Csv, columns);
  return 0;
}
