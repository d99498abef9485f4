#include "http/events.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <chrono>
#include <cmath>

#include "store/ids.hpp"

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

std::string read_event(simdjson::dom::element e, std::int64_t now, rank::Event& ev) {
  if (!e.is_object()) return "is not an object";
  simdjson::dom::element v;
  if (e["user"].get(v) != simdjson::SUCCESS) return "has no \"user\"";
  if (!read_id(v, ev.user)) return "has a \"user\" that is not a string";
  if (e["item"].get(v) != simdjson::SUCCESS) return "has no \"item\"";
  if (!read_id(v, ev.item)) return "has an \"item\" that is not a string";
  try {
    store::check_id(store::IdKind::User, ev.user);
    store::check_id(store::IdKind::Item, ev.item);
  } catch (const std::exception& ex) {
    return ex.what();
  }
  ev.value = 1.0f;
  if (e["value"].get(v) == simdjson::SUCCESS) {
    double d = 0;
    if (v.get(d) != simdjson::SUCCESS || !std::isfinite(d) || std::fabs(d) > 3.0e38) {
      return "has a \"value\" that is not a finite number";
    }
    ev.value = static_cast<float>(d);
  }
  ev.timestamp = now;
  if (e["timestamp"].get(v) == simdjson::SUCCESS) {
    std::int64_t t = 0;
    double d = 0;
    if (v.get(t) == simdjson::SUCCESS) {
      ev.timestamp = t;
    } else if (v.get(d) == simdjson::SUCCESS && std::isfinite(d) && std::fabs(d) < 9.2e18) {
      ev.timestamp = static_cast<std::int64_t>(d);
    } else {
      return "has a \"timestamp\" that is not a number of seconds";
    }
  }
  return {};
}

}  // namespace

EventParseError parse_events(std::string_view body, std::vector<rank::Event>& out) {
  out.clear();
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element doc;
  if (auto err = parser.parse(padded).get(doc); err != simdjson::SUCCESS) {
    return {400, fmt::format("the body is not valid JSON: {}", simdjson::error_message(err))};
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  simdjson::dom::array array;
  if (doc.get(array) == simdjson::SUCCESS) {
    if (array.size() > kMaxEventsPerRequest) {
      return {413, fmt::format("at most {} events per request", kMaxEventsPerRequest)};
    }
    std::size_t index = 0;
    for (auto e : array) {
      rank::Event ev;
      if (auto why = read_event(e, now, ev); !why.empty()) return {422, fmt::format("event {} {}", index, why)};
      out.push_back(std::move(ev));
      ++index;
    }
    return {};
  }
  rank::Event ev;
  if (auto why = read_event(doc, now, ev); !why.empty()) return {422, "the event " + why};
  out.push_back(std::move(ev));
  return {};
}

}  // namespace recsys::http
