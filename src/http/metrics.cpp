#include "http/metrics.hpp"

#include <fmt/format.h>

namespace recsys::http {

const char* route_name(Route r) {
  switch (r) {
    case Route::Recommendations: return "recommendations";
    case Route::Similar: return "similar";
    case Route::Events: return "events";
    case Route::Model: return "model";
    case Route::Healthz: return "healthz";
    case Route::Readyz: return "readyz";
    case Route::Metrics: return "metrics";
    case Route::OpenApi: return "openapi";
    case Route::Other: return "other";
    case Route::History: return "history";
    case Route::Live: return "live";
    case Route::Ui: return "ui";
  }
  return "other";
}

void WorkerMetrics::record(Route route, unsigned status, double seconds) {
  std::size_t s = kStatuses.size() - 1;
  for (std::size_t i = 0; i + 1 < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) {
      s = i;
      break;
    }
  }
  bump(requests_[static_cast<std::size_t>(route)][s]);
  std::size_t b = 0;
  while (b < kLatencyBuckets.size() && seconds > kLatencyBuckets[b]) ++b;
  bump(buckets_[b]);
  bump(latency_ns_, static_cast<std::uint64_t>(seconds * 1e9));
}

void render_metrics(std::span<const WorkerMetrics* const> workers, const ServerGauges& gauges, std::string& out) {
  auto o = std::back_inserter(out);
  out += "# HELP recsys_http_requests_total HTTP requests answered, by route and status.\n"
         "# TYPE recsys_http_requests_total counter\n";
  for (std::size_t r = 0; r < kRoutes; ++r) {
    for (std::size_t s = 0; s < kStatuses.size(); ++s) {
      std::uint64_t n = 0;
      for (const auto* w : workers) n += w->requests(static_cast<Route>(r), s);
      if (n == 0) continue;
      std::string status = kStatuses[s] == 0 ? "other" : std::to_string(kStatuses[s]);
      fmt::format_to(o, "recsys_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n",
                     route_name(static_cast<Route>(r)), status, n);
    }
  }
  out += "# HELP recsys_http_request_duration_seconds Time from a complete request to its response.\n"
         "# TYPE recsys_http_request_duration_seconds histogram\n";
  std::uint64_t cumulative = 0;
  double sum = 0;
  for (const auto* w : workers) sum += w->latency_sum();
  for (std::size_t b = 0; b <= kLatencyBuckets.size(); ++b) {
    for (const auto* w : workers) cumulative += w->bucket(b);
    if (b < kLatencyBuckets.size()) {
      fmt::format_to(o, "recsys_http_request_duration_seconds_bucket{{le=\"{}\"}} {}\n", kLatencyBuckets[b], cumulative);
    } else {
      fmt::format_to(o, "recsys_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", cumulative);
    }
  }
  fmt::format_to(o, "recsys_http_request_duration_seconds_sum {}\n", sum);
  fmt::format_to(o, "recsys_http_request_duration_seconds_count {}\n", cumulative);
  fmt::format_to(o,
                 "# HELP recsys_http_connections Open client connections.\n# TYPE recsys_http_connections gauge\n"
                 "recsys_http_connections {}\n"
                 "# HELP recsys_model_generation Model generation being served (-1: none).\n"
                 "# TYPE recsys_model_generation gauge\nrecsys_model_generation {}\n"
                 "# HELP recsys_cache_lists Precomputed lists in the cache, by kind.\n"
                 "# TYPE recsys_cache_lists gauge\n"
                 "recsys_cache_lists{{kind=\"user\"}} {}\nrecsys_cache_lists{{kind=\"similar\"}} {}\n"
                 "# HELP recsys_uptime_seconds Seconds since the server started.\n"
                 "# TYPE recsys_uptime_seconds gauge\nrecsys_uptime_seconds {:.3f}\n"
                 "# HELP recsys_events_accepting 1 while POST /v1/events stores events; 0 when read-only, after a "
                 "failed sync (until restart) or while commits fail (a full disk).\n"
                 "# TYPE recsys_events_accepting gauge\nrecsys_events_accepting {}\n",
                 gauges.connections, gauges.generation, gauges.user_lists, gauges.similar_lists,
                 gauges.uptime_seconds, gauges.events_accepting ? 1 : 0);
}

}  // namespace recsys::http
