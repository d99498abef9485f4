#include "http/dashboard_api.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>

#include "http/url.hpp"
#include "store/cache.hpp"
#include "store/ids.hpp"
#include "store/items.hpp"
#include "store/models.hpp"
#include "store/ratings.hpp"
#include "util/json.hpp"

namespace recsys::http {

namespace {

constexpr std::size_t kDefaultHistory = 100;
constexpr std::size_t kMaxHistory = 10000;

bool parse_limit(std::string_view query, std::size_t& limit, Response& r) {
  limit = kDefaultHistory;
  // The only parameter: another one is a mistake to report, not to ignore.
  std::string_view unknown;
  for_each_param(query, [&](std::string_view name, std::string_view) {
    if (name != "limit" && unknown.empty()) unknown = name;
  });
  if (!unknown.empty()) {
    set_error(r, 400, "invalid_parameter",
              fmt::format("unknown parameter '{}': the only parameter is limit", unknown));
    return false;
  }
  switch (int_param(query, "limit", kMaxHistory, limit)) {
    case IntParam::Absent:
    case IntParam::Valid: return true;
    case IntParam::Repeated: set_error(r, 400, "invalid_parameter", "limit is given more than once"); return false;
    case IntParam::Invalid: break;
  }
  set_error(r, 400, "invalid_parameter", fmt::format("limit must be an integer from 1 to {}", kMaxHistory));
  return false;
}

// Latency percentile estimated from the histogram: linear within the bucket
// that holds it (the open last bucket counts as ending at twice the last bound).
double percentile(const std::vector<std::uint64_t>& counts, double q) {
  std::uint64_t total = 0;
  for (auto c : counts) total += c;
  if (total == 0) return 0;
  double target = q * static_cast<double>(total), seen = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] > 0 && seen + static_cast<double>(counts[i]) >= target) {
      double lo = i == 0 ? 0.0 : kLatencyBuckets[i - 1];
      double hi = i < kLatencyBuckets.size() ? kLatencyBuckets[i] : 2 * kLatencyBuckets.back();
      return lo + (hi - lo) * (target - seen) / static_cast<double>(counts[i]);
    }
    seen += static_cast<double>(counts[i]);
  }
  return kLatencyBuckets.back();
}

}  // namespace

void user_history(std::string_view segment, std::string_view query, Response& r, HandlerContext& ctx) {
  std::size_t limit = 0;
  if (auto problem = decode_id_segment(segment, ctx.id, "user"); !problem.empty()) {
    return set_error(r, 400, "bad_request", problem);
  }
  if (!parse_limit(query, limit, r)) return;
  const auto& db = *ctx.shared.db;
  std::vector<store::RatingRecord> ratings;
  if (ctx.id.size() <= store::kMaxStoredIdBytes) {
    // Unknown users are not errors (as for recommendations): they have no history.
    if (auto u = store::find_index(db, ctx.txn, store::IdKind::User, ctx.id))
      ratings = store::get_user_ratings(db, ctx.txn, *u);
  }
  // Latest first; stored order (by item) breaks ties, so the answer is stable.
  std::stable_sort(ratings.begin(), ratings.end(),
                   [](const auto& a, const auto& b) { return a.timestamp > b.timestamp; });
  r.body.assign("{\"user\":");
  json::append_string(r.body, ctx.id);
  r.body += fmt::format(",\"count\":{},\"ratings\":[", ratings.size());
  for (std::size_t i = 0; i < std::min(limit, ratings.size()); ++i) {
    const auto& rec = ratings[i];
    auto item = store::find_id(db, ctx.txn, store::IdKind::Item, rec.item);
    if (i > 0) r.body += ',';
    r.body += "{\"item\":";
    json::append_string(r.body, item ? *item : std::string_view(fmt::format("#{}", rec.item)));
    r.body += ",\"value\":";
    json::append_number(r.body, rec.value);
    r.body += fmt::format(",\"timestamp\":{}", rec.timestamp);
    // The item's metadata (recsys items) as list entries carry it: ,"title":"…"
    if (item) r.body += store::entry_tail(store::item_metadata(db, ctx.txn, *item));
    r.body += '}';
  }
  r.body += "]}";
}

void live_stats(Response& r, HandlerContext& ctx) {
  const auto& shared = ctx.shared;
  std::uint64_t requests = 0, events = 0;
  std::vector<std::uint64_t> buckets(kLatencyBuckets.size() + 1, 0);
  std::vector<std::uint64_t> by_route(kRoutes, 0);
  for (const auto* w : shared.metrics) {
    events += w->events();
    for (std::size_t b = 0; b < buckets.size(); ++b) buckets[b] += w->latency().bucket(b);
    for (std::size_t route = 0; route < kRoutes; ++route)
      for (std::size_t s = 0; s < kStatuses.size(); ++s) by_route[route] += w->requests(static_cast<Route>(route), s);
  }
  for (auto n : by_route) requests += n;
  auto gen = store::serving_generation(*shared.db, ctx.txn);
  double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - shared.started).count();
  r.body.assign("{\"uptime_seconds\":");
  json::append_number(r.body, uptime);
  r.body += fmt::format(",\"generation\":{},\"connections\":{},\"requests\":{},\"events\":{},\"routes\":{{",
                        gen ? std::to_string(*gen) : "null", shared.connections.load(std::memory_order_relaxed),
                        requests, events);
  for (std::size_t route = 0; route < kRoutes; ++route)
    r.body += fmt::format("{}\"{}\":{}", route ? "," : "", route_name(static_cast<Route>(route)), by_route[route]);
  r.body += "},\"latency\":{\"bounds\":[";
  for (std::size_t b = 0; b < kLatencyBuckets.size(); ++b) {
    if (b) r.body += ',';
    json::append_number(r.body, kLatencyBuckets[b]);
  }
  r.body += fmt::format("],\"counts\":[{}]", fmt::join(buckets, ","));
  for (auto [name, q] : {std::pair{"p50", 0.5}, std::pair{"p90", 0.9}, std::pair{"p99", 0.99}}) {
    r.body += fmt::format(",\"{}\":", name);
    json::append_number(r.body, percentile(buckets, q));
  }
  r.body += "}}";
}

}  // namespace recsys::http
