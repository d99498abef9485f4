#include "http/filters.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <cctype>

#include "http/url.hpp"
#include "store/cache.hpp"
#include "store/ids.hpp"
#include "store/items.hpp"
#include "util/json.hpp"

namespace recsys::http {

namespace {

constexpr std::string_view kExcludePrefix = "exclude_";
constexpr std::size_t kMaxFilterValues = 100;

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_list_param(std::string_view name) { return name == "k" || name == "exclude"; }

// `text` as a number, when all of it is one ("3.50", "1995", "1e3").
std::optional<double> number_of(std::string_view text) {
  double d = 0;
  auto res = std::from_chars(text.data(), text.data() + text.size(), d);
  if (res.ec != std::errc() || res.ptr != text.data() + text.size()) return std::nullopt;
  return d;
}

// Whether one field value (string, number, boolean, or a list of them) has
// one of `values`: strings and booleans by text, ignoring case; numbers by
// value, so `rating=3.50` finds 3.5 and `year=1995.0` finds 1995.
bool value_matches(simdjson::dom::element v, const std::vector<std::string>& values) {
  auto one = [&](simdjson::dom::element e) {
    double number = 0;
    if (e.is_number() && e.get_double().get(number) == simdjson::SUCCESS) {
      return std::any_of(values.begin(), values.end(), [&](const std::string& w) {
        auto d = number_of(w);
        return d && *d == number;
      });
    }
    std::string_view s;
    std::string text = e.get(s) == simdjson::SUCCESS ? std::string(s) : simdjson::minify(e);
    return std::any_of(values.begin(), values.end(), [&](const std::string& w) { return equal_ignoring_case(text, w); });
  };
  if (v.is_array()) {
    for (auto e : v.get_array()) {
      if (one(e)) return true;
    }
    return false;
  }
  return one(v);
}

bool passes(std::optional<std::string_view> meta, std::span<const Filter> filters, simdjson::dom::parser& parser,
            simdjson::padded_string& buffer) {
  if (filters.empty()) return true;  // exclude= alone
  simdjson::dom::object object;
  bool parsed = false;
  if (meta) {
    buffer = simdjson::padded_string(*meta);
    parsed = parser.parse(buffer).get(object) == simdjson::SUCCESS;
  }
  for (const auto& f : filters) {
    simdjson::dom::element v;
    bool has = parsed && object[f.field].get(v) == simdjson::SUCCESS && value_matches(v, f.values);
    if (has == f.exclude) return false;
  }
  return true;
}

}  // namespace

bool has_filters(std::string_view query) {
  bool any = false;
  for_each_param(query, [&](std::string_view name, std::string_view) { any = any || !is_list_param(name); });
  return any;
}

bool parse_filters(std::string_view query, const store::Database& db, const store::Txn& txn,
                   std::vector<Filter>& out, Response& r) {
  out.clear();
  std::vector<std::string> fields = store::item_fields(db, txn);
  std::string name, value;
  bool ok = true;
  for_each_param(query, [&](std::string_view raw_name, std::string_view raw_value) {
    if (!ok || is_list_param(raw_name)) return;
    if (!percent_decode(raw_name, name, true)) {
      set_error(r, 400, "bad_request", "invalid percent-encoding in the query");
      ok = false;
      return;
    }
    if (is_list_param(name)) {
      // The unfiltered path finds k and exclude without decoding names.
      set_error(r, 400, "invalid_parameter", fmt::format("write '{}' without percent-encoding in its name", name));
      ok = false;
      return;
    }
    Filter f;
    f.exclude = name.starts_with(kExcludePrefix);
    std::string_view wanted = f.exclude ? std::string_view(name).substr(kExcludePrefix.size()) : std::string_view(name);
    // The field itself, else its plural (genre=… filters genres).
    for (const auto& stored : fields) {
      if (stored == wanted) f.field = stored;
    }
    for (const auto& stored : fields) {
      if (f.field.empty() && stored.size() == wanted.size() + 1 && stored.starts_with(wanted) && stored.back() == 's') {
        f.field = stored;
      }
    }
    if (f.field.empty()) {
      set_error(r, 400, "invalid_parameter",
                fields.empty() ? fmt::format("unknown parameter '{}': no item metadata is stored to filter on (recsys "
                                             "items FILE); parameters are k, exclude and filters on item fields",
                                             name)
                               : fmt::format("unknown parameter '{}': filter on a stored item field ({}) with "
                                             "?field=value or ?exclude_field=value",
                                             name, fmt::join(fields, ", ")));
      ok = false;
      return;
    }
    // Split at the plain commas, then decode: %2C is a comma inside a value.
    for (std::string_view rest = raw_value;;) {
      auto comma = rest.find(',');
      if (comma != 0 && !rest.empty()) {
        if (!percent_decode(rest.substr(0, comma), value, true)) {
          set_error(r, 400, "bad_request", "invalid percent-encoding in the query");
          ok = false;
          return;
        }
        f.values.push_back(value);
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (f.values.empty() || f.values.size() > kMaxFilterValues) {
      set_error(r, 400, "invalid_parameter",
                fmt::format("filter '{}' needs 1 to {} comma-separated values", name, kMaxFilterValues));
      ok = false;
      return;
    }
    out.push_back(std::move(f));
  });
  return ok;
}

void append_filtered_body(std::string& out, const store::Database& db, const store::Txn& txn,
                          std::string_view key_name, std::string_view id, const store::Candidates& candidates,
                          std::size_t k, std::span<const std::string> excluded, std::span<const Filter> filters) {
  out += "{\"";
  out += key_name;
  out += "\":";
  json::append_string(out, id);
  fmt::format_to(std::back_inserter(out), ",\"model\":{},\"source\":\"{}\",\"items\":[", candidates.header.generation,
                 store::list_source_name(candidates.header.source));
  simdjson::dom::parser parser;
  simdjson::padded_string buffer;
  std::size_t taken = 0;
  std::string head;
  for (const auto& c : candidates.items) {
    if (taken == k) break;
    auto item = store::find_id(db, txn, store::IdKind::Item, c.item);
    if (!item) continue;
    head = store::entry_head(*item);  // {"item":"<id>","score":
    std::string_view quoted = std::string_view(head).substr(8, head.size() - 8 - 9);
    if (std::find(excluded.begin(), excluded.end(), quoted) != excluded.end()) continue;
    auto meta = store::item_metadata(db, txn, *item);
    if (!passes(meta, filters, parser, buffer)) continue;
    if (taken++ > 0) out += ',';
    out += head;
    store::append_score(out, c.score);
    out += store::entry_tail(meta);
    out += '}';
  }
  out += "]}";
}

std::optional<store::Candidates> fallback_candidates(const store::Database& db, const store::Txn& txn) {
  auto list = store::get_list(db, txn, store::CacheTable::Popularity, store::kFallbackKey);
  if (!list) return std::nullopt;
  store::Candidates c;
  c.header = list->header();
  c.items = store::fallback_order(db, txn, std::max<std::size_t>(store::cache_depth(db, txn).value_or(0), list->size()));
  // A cache from before the stored order: the caller cuts the list itself
  // (an empty candidate list would answer no items at all).
  if (c.items.empty() && list->size() > 0) return std::nullopt;
  c.header.count = static_cast<std::uint32_t>(c.items.size());
  return c;
}

}  // namespace recsys::http
