// Minimal JSON writing shared by the layers that emit JSON (reports, cache
// bodies, HTTP errors). Parsing uses simdjson where it is needed.
#pragma once

#include <string>
#include <string_view>

namespace recsys::json {

// Appends `s` as a JSON string literal (with quotes) to `out`. Bytes that are
// not valid UTF-8 are replaced by U+FFFD so the output is always valid JSON.
void append_string(std::string& out, std::string_view s);
inline std::string quote(std::string_view s) {
  std::string out;
  append_string(out, s);
  return out;
}

// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code
// points past U+10FFFF): item metadata files must be, unless read as Latin-1.
bool valid_utf8(std::string_view s);

// Shortest decimal that reads back as the same float; NaN/Inf become null.
void append_number(std::string& out, double v);

}  // namespace recsys::json
