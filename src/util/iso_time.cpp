#include "util/iso_time.hpp"

namespace recsys::util {

namespace {

// Reads exactly `n` digits at `pos`; advances it.
std::optional<unsigned> digits(std::string_view s, std::size_t& pos, std::size_t n) {
  if (pos > s.size() || s.size() - pos < n) return std::nullopt;
  unsigned v = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const char c = s[pos + k];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  pos += n;
  return v;
}

bool take(std::string_view s, std::size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

unsigned days_in_month(unsigned year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

}  // namespace

std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto yoe = static_cast<unsigned>(year - era * 400);                      // [0, 399]
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;  // [0, 365]
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                       // [0, 146096]
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<std::int64_t> parse_iso8601(std::string_view s) {
  std::size_t pos = 0;
  const auto year = digits(s, pos, 4);
  if (!year || !take(s, pos, '-')) return std::nullopt;
  const auto month = digits(s, pos, 2);
  if (!month || *month < 1 || *month > 12 || !take(s, pos, '-')) return std::nullopt;
  const auto day = digits(s, pos, 2);
  if (!day || *day < 1 || *day > days_in_month(*year, *month)) return std::nullopt;
  std::int64_t seconds = days_from_civil(*year, *month, *day) * 86400;
  if (pos == s.size()) return seconds;
  if (!take(s, pos, 'T') && !take(s, pos, 't') && !take(s, pos, ' ')) return std::nullopt;
  const auto hour = digits(s, pos, 2);
  if (!hour || *hour > 23 || !take(s, pos, ':')) return std::nullopt;
  const auto minute = digits(s, pos, 2);
  if (!minute || *minute > 59) return std::nullopt;
  unsigned second = 0;
  if (take(s, pos, ':')) {
    const auto sec = digits(s, pos, 2);
    if (!sec || *sec > 60) return std::nullopt;  // 60: a leap second
    second = *sec;
    if (take(s, pos, '.') || take(s, pos, ',')) {
      const std::size_t start = pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
      if (pos == start) return std::nullopt;
    }
  }
  seconds += *hour * 3600 + *minute * 60 + second;
  // The zone: none or Z (UTC), " UTC" (BigQuery's and Spark's CSV exports),
  // or an offset; then perhaps a zone name in brackets (Java's
  // ZonedDateTime: "+02:00[Europe/Paris]"), which the offset already fixes.
  std::int64_t offset = 0;
  if (take(s, pos, 'Z') || take(s, pos, 'z')) {
  } else if (s.substr(pos) == " UTC") {
    pos = s.size();
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const bool east = s[pos++] == '+';
    const auto off_hour = digits(s, pos, 2);
    if (!off_hour || *off_hour > 23) return std::nullopt;
    unsigned off_minute = 0;
    if (pos < s.size() && s[pos] != '[') {
      take(s, pos, ':');
      const auto m = digits(s, pos, 2);
      if (!m || *m > 59) return std::nullopt;
      off_minute = *m;
    }
    offset = (static_cast<std::int64_t>(*off_hour) * 3600 + off_minute * 60) * (east ? 1 : -1);
  }
  if (pos < s.size() && s[pos] == '[' && s.back() == ']' && s.size() - pos > 2) pos = s.size();
  if (pos != s.size()) return std::nullopt;
  return seconds - offset;
}

}  // namespace recsys::util
