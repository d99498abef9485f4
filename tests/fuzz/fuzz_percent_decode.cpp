// Percent-decoding and target splitting (src/http/url.*): the bytes are a
// request target. Decoding never grows the text, re-encoding what was decoded
// and decoding again gives the same bytes, and every piece split_target,
// query_param and next_segment return lies inside its input.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "check.hpp"
#include "http/url.hpp"

namespace {

using namespace recsys::http;

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

std::string encode_all(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

void check_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  bool ok = percent_decode(in, out, plus_is_space);
  if (!ok) {
    FUZZ_CHECK(in.find('%') != std::string_view::npos);  // only an escape can be malformed
    return;
  }
  FUZZ_CHECK(out.size() <= in.size());
  FUZZ_CHECK(out.size() + 2 * std::count(in.begin(), in.end(), '%') == in.size());
  if (in.find('%') == std::string_view::npos && (!plus_is_space || in.find('+') == std::string_view::npos)) {
    FUZZ_CHECK(out == in);
  }
  std::string again;
  FUZZ_CHECK(percent_decode(encode_all(out), again, plus_is_space));
  FUZZ_CHECK(again == out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  check_decode(in, false);
  check_decode(in, true);

  Target t = split_target(in);
  FUZZ_CHECK(inside(t.path, in) && inside(t.query, in));
  FUZZ_CHECK(t.path.size() + t.query.size() <= in.size());
  FUZZ_CHECK(t.path.find('?') == std::string_view::npos && t.query.find('#') == std::string_view::npos);

  for (std::string_view name : {"k", "exclude", ""}) {
    if (auto v = query_param(t.query, name)) FUZZ_CHECK(inside(*v, t.query));
  }

  std::string_view rest = t.path;
  std::size_t segments = 0, bytes = 0;
  while (!rest.empty()) {
    std::size_t before = rest.size();
    std::string_view seg = next_segment(rest);
    FUZZ_CHECK(inside(seg, t.path) && seg.find('/') == std::string_view::npos);
    FUZZ_CHECK(rest.size() < before);  // always makes progress
    bytes += seg.size();
    ++segments;
  }
  FUZZ_CHECK(bytes + std::count(t.path.begin(), t.path.end(), '/') == t.path.size());
  FUZZ_CHECK(segments <= t.path.size());
  return 0;
}
