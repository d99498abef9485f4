#include "http/url.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <string>

#include "util/json.hpp"

namespace recsys::http {

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

namespace {
// The length of an absolute-form target's scheme and "://" (0: origin-form).
std::size_t scheme_length(std::string_view target) {
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (target.size() >= scheme.size() &&
        std::equal(scheme.begin(), scheme.end(), target.begin(),
                   [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
      return scheme.size();
    }
  }
  return 0;
}
}  // namespace

std::optional<std::string_view> target_authority(std::string_view target) {
  const std::size_t scheme = scheme_length(target);
  if (scheme == 0) return std::nullopt;
  std::string_view authority = target.substr(scheme, target.find_first_of("/?#", scheme) - scheme);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  return authority;
}

Target split_target(std::string_view target) {
  Target t;
  // Absolute-form ("http://host:8080/v1/..."), which RFC 9112 3.2.2 says a
  // server must accept: the path and query after the authority.
  if (const std::size_t scheme = scheme_length(target); scheme > 0) {
    auto end = target.find_first_of("/?", scheme);
    target = end == std::string_view::npos ? std::string_view("/") : target.substr(end);
    if (target.front() == '?') return Target{"/", target.substr(1)};
  }
  auto q = target.find('?');
  t.path = target.substr(0, q);
  if (q != std::string_view::npos) t.query = target.substr(q + 1);
  auto hash = t.query.find('#');
  if (hash != std::string_view::npos) t.query = t.query.substr(0, hash);
  return t;
}

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

std::optional<std::string_view> query_param(std::string_view query, std::string_view name, std::string_view* rest) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      if (rest) *rest = query;
      return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    }
  }
  if (rest) *rest = {};
  return std::nullopt;
}

std::size_t param_count(std::string_view query, std::string_view name) {
  std::size_t n = 0;
  for (std::string_view rest = query; query_param(rest, name, &rest);) ++n;
  return n;
}

IntParam int_param(std::string_view query, std::string_view name, std::size_t max, std::size_t& value) {
  auto raw = query_param(query, name);
  if (!raw) return IntParam::Absent;
  if (param_count(query, name) > 1) return IntParam::Repeated;
  std::string text;
  if (!percent_decode(*raw, text, true)) return IntParam::Invalid;
  std::size_t v = 0;
  auto res = std::from_chars(text.data(), text.data() + text.size(), v);
  // Digits past size_t's range are a number larger than any max, not garbage:
  // k=99999999999999999999 asks for the whole list as k=18446744073709551615 does.
  if (res.ec == std::errc::result_out_of_range) v = SIZE_MAX;
  else if (res.ec != std::errc()) return IntParam::Invalid;
  if (res.ptr != text.data() + text.size() || v == 0 || v > max) return IntParam::Invalid;
  value = v;
  return IntParam::Valid;
}

std::string decode_id_segment(std::string_view segment, std::string& out, std::string_view what) {
  if (!percent_decode(segment, out, false)) return fmt::format("invalid percent-encoding in the {} id", what);
  if (out.empty()) return fmt::format("empty {} id", what);
  if (!json::valid_utf8(out)) return fmt::format("the {} id is not valid UTF-8", what);
  return {};
}

std::string_view next_segment(std::string_view& rest) {
  auto slash = rest.find('/');
  std::string_view seg = rest.substr(0, slash);
  rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  return seg;
}

}  // namespace recsys::http
