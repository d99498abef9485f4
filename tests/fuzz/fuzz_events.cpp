// The POST /v1/events body parser (src/http/events.*). Either the body is
// refused with 400 (not JSON), 413 (too many events) or 422 (JSON but not
// events) and a message, or every event it returns has ids the store accepts,
// a finite value, and parsing again gives the same events; no events only for
// an empty array.
#include <simdjson.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "check.hpp"
#include "http/events.hpp"
#include "store/ids.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace recsys;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  std::vector<rank::Event> events;
  auto err = http::parse_events(body, events);
  if (err.status != 0) {
    FUZZ_CHECK(err.status == 400 || err.status == 413 || err.status == 422);
    FUZZ_CHECK(!err.message.empty());
    return 0;
  }
  // An empty array is zero events (answered {"accepted":0}); anything else has some.
  FUZZ_CHECK(events.size() <= http::kMaxEventsPerRequest);
  if (events.empty()) {
    simdjson::dom::parser json;
    simdjson::dom::array array;
    FUZZ_CHECK(json.parse(simdjson::padded_string(body)).get(array) == simdjson::SUCCESS && array.size() == 0);
  }
  for (const auto& e : events) {
    try {
      store::check_id(store::IdKind::User, e.user);
      store::check_id(store::IdKind::Item, e.item);
    } catch (const std::exception&) {
      FUZZ_CHECK(!"an accepted event has an id the store refuses");
    }
    FUZZ_CHECK(std::isfinite(e.value));
  }
  std::vector<rank::Event> again;
  FUZZ_CHECK(http::parse_events(body, again).status == 0 && again.size() == events.size());
  for (std::size_t k = 0; k < events.size(); ++k) {
    FUZZ_CHECK(again[k].user == events[k].user && again[k].item == events[k].item);
    FUZZ_CHECK(again[k].value == events[k].value);
  }
  return 0;
}
