// JSON routes the dashboard reads (docs/serving.md): a user's stored ratings,
// and the server's live figures in one object, friendlier to a page than the
// Prometheus text of /metrics. Reads: open like the other GET routes.
#pragma once

#include <string_view>

#include "http/router.hpp"

namespace recsys::http {

// GET /v1/users/{user}/history?limit=100: the user's stored ratings, latest
// first, each with the item's metadata (title, …) when `recsys items` stored some.
void user_history(std::string_view segment, std::string_view query, Response& r, HandlerContext& ctx);

// GET /v1/live: requests, events and latency counters since start, connections,
// the served generation. Clients derive rates from two answers (uptime_seconds
// is the clock).
void live_stats(Response& r, HandlerContext& ctx);

}  // namespace recsys::http
