// POST /v1/events bodies: one event object or an array of them,
//   {"user":"u1","item":"i9","value":1.0,"timestamp":1700000000}
// user and item are strings (numbers are accepted and kept as written); value
// defaults to 1.0 for implicit feedback and is required for explicit ratings;
// timestamp defaults to the time of arrival. Values pass the same checks as
// imported ratings (docs/serving.md, "Event values").
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "rank/realtime.hpp"
#include "store/database.hpp"
#include "store/ratings.hpp"

namespace recsys::http {

inline constexpr std::size_t kMaxEventsPerRequest = 10000;

struct EventParseError {
  unsigned status = 0;  // 0: none; 400 malformed JSON, 422 valid JSON but not events, 413 too many
  std::string_view code;  // the error code of the JSON answer: bad_request, invalid_event, payload_too_large
  std::string message;
};

// The values the stored data accepts. Any value is finite, >= 0 and at most
// store::kMaxRatingValue (as import checks ratings); explicit ratings must be
// given and lie within the rating scale.
struct EventRules {
  bool value_required = false;  // explicit feedback: no default rating
  bool scale_known = false;     // [min_value, max_value] is the data set's rating scale
  float min_value = 0.0f;
  float max_value = store::kMaxRatingValue;
};

// The rules for the data in `db`: explicit when the stored ratings are
// explicit (their scale is the stored lowest and highest rating) or, with no
// ratings stored, when the serving model was trained on explicit feedback.
EventRules event_rules(const store::Database& db, const store::Txn& txn);

// The answer to a body simdjson could not parse: 400 for JSON that is not
// valid, 503 `unavailable` when the parser ran out of memory (the server's
// state, not the client's mistake: worth a retry).
EventParseError json_parse_error(simdjson::error_code error);

// Parses `body` into `out` (replacing its content).
EventParseError parse_events(std::string_view body, const EventRules& rules, std::vector<rank::Event>& out);
// The same with the rules of implicit data.
EventParseError parse_events(std::string_view body, std::vector<rank::Event>& out);

}  // namespace recsys::http
