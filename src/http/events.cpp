#include "http/events.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <chrono>
#include <cmath>
#include <optional>

#include "store/ids.hpp"
#include "store/models.hpp"
#include "util/iso_time.hpp"

namespace recsys::http {

namespace {

// An id given as a string, or as a number written in the JSON (kept verbatim).
bool read_id(simdjson::dom::element e, std::string& out) {
  std::string_view s;
  if (e.get(s) == simdjson::SUCCESS) {
    out.assign(s);
    return true;
  }
  if (e.is_int64() || e.is_uint64()) {
    out = simdjson::minify(e);
    return true;
  }
  return false;
}

// The reason `e[key]` is not a usable id ("" when it is), as the end of a
// sentence that starts with "the event" or "event N".
std::string read_event_id(simdjson::dom::element e, const char* key, std::string& out) {
  const char* a = key[0] == 'i' ? "an" : "a";  // "an \"item\"", "a \"user\""
  simdjson::dom::element v;
  if (e[key].get(v) != simdjson::SUCCESS) return fmt::format("has no \"{}\"", key);
  if (!read_id(v, out)) return fmt::format("has {} \"{}\" that is neither a string nor an integer", a, key);
  if (out.empty()) return fmt::format("has an empty \"{}\"", key);
  if (out.size() > store::kMaxIdBytes) {
    return fmt::format("has {} \"{}\" longer than {} bytes", a, key, store::kMaxIdBytes);
  }
  return {};
}

std::string read_value(simdjson::dom::element e, const EventRules& rules, float& value) {
  simdjson::dom::element v;
  if (e["value"].get(v) != simdjson::SUCCESS) {
    if (!rules.value_required) {
      value = 1.0f;  // implicit feedback: one interaction
      return {};
    }
    if (rules.scale_known) {
      return fmt::format("has no \"value\": the stored ratings are explicit, so a rating from {:g} to {:g} is required",
                         rules.min_value, rules.max_value);
    }
    return "has no \"value\": the model is trained on explicit ratings, so a rating is required";
  }
  double d = 0;
  if (v.get(d) != simdjson::SUCCESS) return "has a \"value\" that is not a number";
  if (!std::isfinite(d)) return "has a \"value\" that is not a finite number";
  if (d < 0) return fmt::format("has a negative \"value\" ({:g})", d);
  if (d > store::kMaxRatingValue) return fmt::format("has a \"value\" larger than {:g} ({})", store::kMaxRatingValue, d);
  if (rules.scale_known && (d < rules.min_value || d > rules.max_value)) {
    return fmt::format("has a \"value\" of {}, outside the rating scale of the stored ratings ({:g} to {:g})", d,
                       rules.min_value, rules.max_value);
  }
  value = static_cast<float>(d);
  return {};
}

std::string read_event(simdjson::dom::element e, const EventRules& rules, std::int64_t now, rank::Event& ev) {
  if (!e.is_object()) return "is not an object";
  // A key given twice is refused: simdjson's lookup takes the first, most
  // JSON libraries the last, so a proxy or a client could read another event.
  unsigned seen = 0;
  for (auto field : simdjson::dom::object(e)) {
    static constexpr std::string_view kKeys[] = {"user", "item", "value", "timestamp"};
    for (unsigned k = 0; k < std::size(kKeys); ++k) {
      if (field.key != kKeys[k]) continue;
      if (seen & (1u << k)) return fmt::format("has \"{}\" more than once", kKeys[k]);
      seen |= 1u << k;
    }
  }
  if (auto why = read_event_id(e, "user", ev.user); !why.empty()) return why;
  if (auto why = read_event_id(e, "item", ev.item); !why.empty()) return why;
  if (auto why = read_value(e, rules, ev.value); !why.empty()) return why;
  ev.timestamp = now;
  simdjson::dom::element v;
  if (e["timestamp"].get(v) == simdjson::SUCCESS) {
    std::int64_t t = 0;
    double d = 0;
    std::string_view text;
    std::optional<std::int64_t> parsed;
    if (v.get(t) == simdjson::SUCCESS) {
      ev.timestamp = t;
    } else if (v.get(d) == simdjson::SUCCESS && std::isfinite(d) && std::fabs(d) < 9.2e18) {
      ev.timestamp = static_cast<std::int64_t>(d);
    } else if (v.get(text) == simdjson::SUCCESS && (parsed = util::parse_timestamp(text))) {
      ev.timestamp = *parsed;  // "1700000000" or JavaScript's toISOString(), as in rating files
    } else {
      return "has a \"timestamp\" that is neither a number of seconds nor an ISO 8601 date string";
    }
  }
  return {};
}

constexpr std::string_view kInvalid = "invalid_event";

}  // namespace

EventRules event_rules(const store::Database& db, const store::Txn& txn) {
  EventRules rules;
  auto stats = store::rating_stats(db, txn);
  if (stats.count > 0) {
    if (stats.feedback == store::Feedback::Explicit) {
      rules.value_required = true;
      rules.scale_known = true;
      rules.min_value = stats.min_value;
      rules.max_value = stats.max_value;
    }
    return rules;
  }
  // No ratings stored (e.g. a model imported with import-factors): the model
  // says whether values are ratings. Its scale is unknown here.
  auto serving = store::serving_generation(db, txn);
  auto record = serving ? store::find_model(db, txn, *serving) : std::nullopt;
  if (record) {
    try {
      rules.value_required = rank::params_of_description(record->description).feedback == model::Feedback::Explicit;
    } catch (const std::exception&) {
      // An unreadable description leaves the implicit rules; fold-in reports it.
    }
  }
  return rules;
}

EventParseError json_parse_error(simdjson::error_code error) {
  if (error == simdjson::MEMALLOC) {
    return {503, "unavailable", "the server is out of memory for this body: retry later, or send fewer events at once"};
  }
  return {400, "bad_request", fmt::format("the body is not valid JSON: {}", simdjson::error_message(error))};
}

EventParseError parse_events(std::string_view body, const EventRules& rules, std::vector<rank::Event>& out) {
  out.clear();
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element doc;
  if (auto err = parser.parse(padded).get(doc); err != simdjson::SUCCESS) return json_parse_error(err);
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  simdjson::dom::array array;
  if (doc.get(array) == simdjson::SUCCESS) {
    if (array.size() > kMaxEventsPerRequest) {
      return {413, "payload_too_large",
              fmt::format("{} events in one request: at most {} are allowed", array.size(), kMaxEventsPerRequest)};
    }
    std::size_t index = 0;
    for (auto e : array) {
      rank::Event ev;
      if (auto why = read_event(e, rules, now, ev); !why.empty()) {
        out.clear();
        return {422, kInvalid, fmt::format("event {} {}", index, why)};
      }
      out.push_back(std::move(ev));
      ++index;
    }
    return {};
  }
  rank::Event ev;
  if (auto why = read_event(doc, rules, now, ev); !why.empty()) return {422, kInvalid, "the event " + why};
  out.push_back(std::move(ev));
  return {};
}

EventParseError parse_events(std::string_view body, std::vector<rank::Event>& out) {
  return parse_events(body, EventRules{}, out);
}

}  // namespace recsys::http
