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
Target split_target(std::string_view target);

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

// Splits `path` at '/' after `prefix`: returns the next segment and advances.
// Example: path "/v1/users/42/recommendations" after consuming "/v1/users/".
std::string_view next_segment(std::string_view& rest);

}  // namespace recsys::http
