// Dates and times as ISO 8601 / RFC 3339 write them, for timestamps given as
// text rather than seconds since 1970: Netflix Prize's "2005-09-06", a
// database export's "2005-09-06 14:03:00", JavaScript's toISOString()
// "2005-09-06T14:03:00.000Z", an offset "+02:00".
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace recsys::util {

// Seconds since 1970-01-01T00:00:00Z for YYYY-MM-DD, optionally followed by
// 'T' (or 't', or one space) and hh:mm[:ss[.fraction]], then optionally 'Z'
// (or 'z'), " UTC", or an offset ±hh[:mm] / ±hhmm, and after that a zone name
// in brackets ("[Europe/Paris]", ignored); a time without an offset is UTC.
// Fields are checked (month 1-12, the month's days with leap years, hour
// 0-23, minute 0-59, second 0-60); a fraction is dropped. Nothing for any
// other text.
std::optional<std::int64_t> parse_iso8601(std::string_view text);

// A timestamp written as text, as rating files and events give it: whole
// seconds since 1970 (one sign, '+' or '-'; "1260759144.0", as pandas writes
// an integer column with gaps, is whole too), else an ISO 8601 date
// (parse_iso8601). Inline: the import parses one per row.
inline std::optional<std::int64_t> parse_timestamp(std::string_view text) {
  const std::string_view digits =
      text.size() > 1 && text.front() == '+' && text[1] != '-' ? text.substr(1) : text;
  const char* end = digits.data() + digits.size();
  std::int64_t seconds = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), end, seconds);
  if (ec == std::errc() &&
      (ptr == end || (*ptr == '.' && ptr + 1 < end && std::all_of(ptr + 1, end, [](char c) { return c == '0'; }))))
    return seconds;
  return parse_iso8601(text);
}

// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's
// days_from_civil, http://howardhinnant.github.io/date_algorithms.html).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day);

}  // namespace recsys::util
