#include "data/chunk_parser.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "store/ids.hpp"
#include "util/iso_time.hpp"

namespace recsys::data {

namespace {

// Returns an empty string when the id is acceptable, else the reason.
inline const char* check_id(std::string_view id) {
  if (id.empty()) return "empty";
  if (id.size() > store::kMaxIdBytes) return "long";
  unsigned char any = 0;
  for (char c : id) any |= static_cast<unsigned char>(c);
  if ((any & 0x80) && !is_valid_utf8(id)) return "utf8";
  return nullptr;
}

}  // namespace

std::string describe_field(std::string_view field) {
  std::string out = "'";
  std::size_t n = std::min<std::size_t>(field.size(), 40);
  for (std::size_t k = 0; k < n; ++k) {
    auto c = static_cast<unsigned char>(field[k]);
    if (c < 0x20 || c >= 0x7f || c == '\'') {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (field.size() > n) out += "...";
  return out + "'";
}

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      len = 2, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) < len) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[k] & 0x3f);
    }
    static constexpr std::uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    p += len;
  }
  return true;
}

std::string id_problem(std::string_view id, std::string_view what) {
  const char* bad = check_id(id);
  if (!bad) return {};
  if (bad[0] == 'e') return fmt::format("empty {}", what);
  if (bad[0] == 'l') return fmt::format("{} is longer than {} bytes", what, store::kMaxIdBytes);
  return fmt::format("{} {} is not valid UTF-8", what, describe_field(id));
}

void ChunkParser::reset() {
  users.clear();
  items.clear();
  values.clear();
  timestamps.clear();
  errors.clear();
  new_users.clear();
  new_items.clear();
  unquoted_.clear();
}

std::uint64_t ChunkParser::parse(std::string_view text) {
  const char* p = text.data();
  const char* end = p + text.size();
  std::uint64_t line_no = 0;
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const char* line_end = nl ? nl : end;
    std::string_view line(p, static_cast<std::size_t>(line_end - p));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    parse_line(line, line_no);
    ++line_no;
    p = nl ? nl + 1 : end;
  }
  return line_no;
}

void refuse_cr_line_ends(std::string_view head, const std::string& name) {
  if (const auto cr = head.find('\r'); cr != std::string_view::npos && cr + 1 < head.size() &&
                                        head.find('\n') == std::string_view::npos) {
    throw std::runtime_error(name +
                             ": its lines end in a carriage return alone (classic Mac OS line ends), which no "
                             "format here reads; convert them first: tr '\\r' '\\n' < FILE > FIXED");
  }
}

// Splits into fields_[0..needed_); false (with an error) when the line is malformed.
bool ChunkParser::split(std::string_view line, std::uint64_t line_no) {
  found_ = 0;
  const char* p = line.data();
  const char* end = p + line.size();
  const Format format = layout_.format;
  const char separator = layout_.separator;
  for (;;) {
    std::string_view field;
    const char* next;  // start of the following field, or nullptr at the end
    if (format == Format::Csv) {
      const char* q = p;
      while (q < end && *q == ' ') ++q;
      if (q < end && *q == '"') {
        // RFC 4180 quoted field: "" stands for one quote; must close on this line.
        const char* start = q + 1;
        const char* close = start;
        bool doubled = false;
        for (;;) {
          close = static_cast<const char*>(std::memchr(close, '"', static_cast<std::size_t>(end - close)));
          if (!close) {
            fail(line_no, "unterminated quoted field (a quoted field cannot span lines)");
            return false;
          }
          if (close + 1 < end && close[1] == '"') {
            doubled = true;
            close += 2;
            continue;
          }
          break;
        }
        field = std::string_view(start, static_cast<std::size_t>(close - start));
        if (doubled && found_ < needed_) {
          std::string unescaped;
          for (std::size_t k = 0; k < field.size(); ++k) {
            unescaped += field[k];
            if (field[k] == '"') ++k;
          }
          field = unquoted_.copy(unescaped);
        }
        const char* after = close + 1;
        while (after < end && *after == ' ') ++after;
        if (after < end && *after != separator) {
          fail(line_no, "unexpected text after a closing quote");
          return false;
        }
        next = after < end ? after + 1 : nullptr;
      } else {
        const char* comma = static_cast<const char*>(std::memchr(p, separator, static_cast<std::size_t>(end - p)));
        const char* fe = comma ? comma : end;
        // RFC 4180: a field holding a quote is quoted whole. A bare one is most
        // often the rest of a quoted field that spanned lines, whose
        // continuation was imported as a rating ("Would watch again, 5 stars",4).
        if (std::memchr(p, '"', static_cast<std::size_t>(fe - p))) {
          fail(line_no, "a quote inside an unquoted field (quote the whole field and double its quotes)");
          return false;
        }
        field = trim_spaces(std::string_view(p, static_cast<std::size_t>(fe - p)));
        next = comma ? comma + 1 : nullptr;
      }
    } else if (format == Format::Tsv) {
      const char* tab = static_cast<const char*>(std::memchr(p, '\t', static_cast<std::size_t>(end - p)));
      const char* fe = tab ? tab : end;
      field = trim_spaces(std::string_view(p, static_cast<std::size_t>(fe - p)));
      next = tab ? tab + 1 : nullptr;
    } else {
      const char* sep = p;
      for (;;) {
        sep = static_cast<const char*>(std::memchr(sep, ':', static_cast<std::size_t>(end - sep)));
        if (!sep || (sep + 1 < end && sep[1] == ':')) break;
        ++sep;
      }
      const char* fe = sep ? sep : end;
      field = trim_spaces(std::string_view(p, static_cast<std::size_t>(fe - p)));
      next = sep ? sep + 2 : nullptr;
    }
    if (found_ < needed_) fields_[found_] = field;
    ++found_;
    if (!next) break;
    // Fields past the last one used are not examined (but counted for messages).
    if (found_ >= needed_ && format != Format::Csv) break;
    p = next;
  }
  if (found_ < needed_) {
    fail(line_no, fmt::format("expected at least {} fields, found {}", needed_, found_));
    return false;
  }
  return true;
}

void ChunkParser::parse_line(std::string_view line, std::uint64_t line_no) {
  if (line.size() > kMaxLineBytes) {
    return fail(line_no, fmt::format("line is longer than {} bytes", kMaxLineBytes));
  }
  if (line.empty() || trim_spaces(line).empty()) return;  // blank lines are not rows
  if (std::memchr(line.data(), '\0', line.size())) return fail(line_no, "NUL byte in line (binary data?)");
  if (!split(line, line_no)) return;

  std::string_view user = fields_[static_cast<std::size_t>(layout_.user)];
  std::string_view item = fields_[static_cast<std::size_t>(layout_.item)];
  for (int side = 0; side < 2; ++side) {
    std::string_view id = side == 0 ? user : item;
    const char* what = side == 0 ? "user id" : "item id";
    if (check_id(id)) return fail(line_no, id_problem(id, what));
  }

  float value = 1.0f;
  if (layout_.rating != kNoColumn) {
    std::string_view r = fields_[static_cast<std::size_t>(layout_.rating)];
    if (r.empty()) return fail(line_no, "empty rating");
    // A ';' file's decimal comma ("2,5"); messages quote the field as written.
    std::string decimal;
    std::string_view number = r;
    if (layout_.separator == ';' && r.find(',') != std::string_view::npos) {
      decimal.assign(r);
      std::replace(decimal.begin(), decimal.end(), ',', '.');
      number = decimal;
    }
    std::string_view digits = number.front() == '+' ? number.substr(1) : number;
    double v = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    // One sign at most: "+-1" is not a number (it read as negative).
    if (digits.empty() || ptr != digits.data() + digits.size() || (r.front() == '+' && digits.front() == '-') ||
        (ec != std::errc() && ec != std::errc::result_out_of_range)) {
      return fail(line_no, fmt::format("rating {} is not a number", describe_field(r)));
    }
    // Out of range: strtod says which way (1e400 overflows, 1e-400 is 0).
    if (ec == std::errc::result_out_of_range) v = std::strtod(std::string(digits).c_str(), nullptr);
    if (!std::isfinite(v)) return fail(line_no, fmt::format("rating {} is not a finite number", describe_field(r)));
    if (v < 0) return fail(line_no, fmt::format("rating {} is negative", describe_field(r)));
    if (v > kMaxRating) return fail(line_no, fmt::format("rating {} is larger than {:g}", describe_field(r), kMaxRating));
    value = v == 0 ? 0.0f : static_cast<float>(v);  // -0 is 0 ("lowest rating -0" in info)
  }
  std::int64_t ts = 0;
  if (layout_.timestamp != kNoColumn) {
    std::string_view t = fields_[static_cast<std::size_t>(layout_.timestamp)];
    if (!t.empty()) {
      // Seconds (any sign, as for ratings) or a date as text (Netflix Prize's
      // "2005-09-06", an export's "2005-09-06 14:03:00").
      const auto parsed = util::parse_timestamp(t);
      if (!parsed) {
        return fail(line_no, fmt::format("timestamp {} is neither seconds since 1970 nor an ISO 8601 date "
                                         "(2005-09-06, 2005-09-06T14:03:00Z)",
                                         describe_field(t)));
      }
      ts = *parsed;
    }
  }
  users.push_back(new_users.resolve(users_, user));
  items.push_back(new_items.resolve(items_, item));
  values.push_back(value);
  timestamps.push_back(ts);
}

}  // namespace recsys::data
