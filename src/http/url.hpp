// Request targets (RFC 3986): path and query split, percent-decoding, query
// parameters. Ids travel percent-encoded in path segments, so an id may hold
// '/', spaces or UTF-8 ("/v1/users/a%2Fb/recommendations" is user "a/b").
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace recsys::http {

struct Target {
  std::string_view path;
  std::string_view query;  // without '?'; empty when absent
};
// The target in origin-form ("/path?query") or absolute-form ("http://host/path?query").
Target split_target(std::string_view target);

// The authority (host[:port], without user info) of an absolute-form target
// ("http://host:8080/v1/..."); nothing for an origin-form one ("/v1/...").
std::optional<std::string_view> target_authority(std::string_view target);

// Decodes %XX escapes into `out` (replacing its content); in query strings '+'
// is a space too. Returns false on a malformed escape ("%4", "%zz").
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space);

// The raw (still encoded) value of the first parameter `name` of a query
// string. With `rest`, also the part of the query after that parameter (to
// find the next one); empty when there is none.
std::optional<std::string_view> query_param(std::string_view query, std::string_view name,
                                            std::string_view* rest = nullptr);
// How many times parameter `name` occurs (a repeated k is an error, not a choice).
std::size_t param_count(std::string_view query, std::string_view name);

// Calls fn(name, value), both still encoded, for every non-empty parameter of
// a query string, in order.
template <typename Fn>
void for_each_param(std::string_view query, Fn&& fn) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    fn(pair.substr(0, eq), eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
  }
}

// Parameter `name` as an integer from 1 to `max`, its value percent-decoded
// first ("k=%35" is k=5, as for every other value). `value` is set when Valid.
enum class IntParam { Absent, Valid, Repeated, Invalid };
IntParam int_param(std::string_view query, std::string_view name, std::size_t max, std::size_t& value);

// A path segment as a user or item id (`what`), percent-decoded into `out`.
// Returns why it cannot be one, or "" when it can: a malformed escape, an
// empty id, or bytes that are not UTF-8 (no stored id is: import and events
// refuse them, and answers would have to alter them to put them in JSON).
std::string decode_id_segment(std::string_view segment, std::string& out, std::string_view what);

// Splits `path` at '/' after `prefix`: returns the next segment and advances.
// Example: path "/v1/users/42/recommendations" after consuming "/v1/users/".
std::string_view next_segment(std::string_view& rest);

}  // namespace recsys::http
