// POST /v1/events bodies: one event object or an array of them,
//   {"user":"u1","item":"i9","value":1.0,"timestamp":1700000000}
// user and item are strings (numbers are accepted and kept as written); value
// defaults to 1.0 (implicit feedback), timestamp to the time of arrival.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "rank/realtime.hpp"

namespace recsys::http {

inline constexpr std::size_t kMaxEventsPerRequest = 10000;

struct EventParseError {
  unsigned status = 0;  // 0: none; 400 malformed JSON, 422 valid JSON but not events, 413 too many
  std::string message;
};

// Parses `body` into `out` (replacing its content).
EventParseError parse_events(std::string_view body, std::vector<rank::Event>& out);

}  // namespace recsys::http
