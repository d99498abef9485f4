// Request metrics in the Prometheus text format (version 0.0.4): requests by
// route and status, a latency histogram, open connections, the serving model
// generation and cache sizes. Each worker thread counts into its own
// WorkerMetrics (no shared cache lines on the hot path); /metrics sums them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <string>

namespace recsys::http {

enum class Route : std::uint8_t { Recommendations, Similar, Events, Model, Healthz, Readyz, Metrics, OpenApi, Other, History, Live, Ui };
inline constexpr std::size_t kRoutes = 12;
const char* route_name(Route r);

// Status codes the server sends; anything else is counted as "other".
inline constexpr std::array<unsigned, 16> kStatuses{200, 304, 400, 401, 403, 404, 405, 408, 413, 414, 415, 422, 431, 500, 503, 0};
// Upper bounds (seconds) of the latency histogram buckets (+Inf implied).
inline constexpr std::array<double, 10> kLatencyBuckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                        0.005,  0.01,    0.025,  0.1,   1.0};

class WorkerMetrics {
 public:
  void record(Route route, unsigned status, double seconds);
  std::uint64_t requests(Route route, std::size_t status_index) const {
    return requests_[static_cast<std::size_t>(route)][status_index].load(std::memory_order_relaxed);
  }
  std::uint64_t bucket(std::size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  double latency_sum() const { return static_cast<double>(latency_ns_.load(std::memory_order_relaxed)) * 1e-9; }
  // Events stored by POST /v1/events (a request may carry many).
  void record_events(std::uint64_t n) { bump(events_, n); }
  std::uint64_t events() const { return events_.load(std::memory_order_relaxed); }

 private:
  static void bump(std::atomic<std::uint64_t>& c, std::uint64_t by = 1) {
    c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);  // one writer per counter
  }
  std::array<std::array<std::atomic<std::uint64_t>, kStatuses.size()>, kRoutes> requests_{};
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size() + 1> buckets_{};
  std::atomic<std::uint64_t> latency_ns_{0};
  std::atomic<std::uint64_t> events_{0};
};

struct ServerGauges {
  std::uint64_t connections = 0;
  std::int64_t generation = -1;  // -1: no model served
  std::uint64_t user_lists = 0;
  std::uint64_t similar_lists = 0;
  double uptime_seconds = 0;
  bool events_accepting = true;  // events_state() is "accepting"
};

void render_metrics(std::span<const WorkerMetrics* const> workers, const ServerGauges& gauges, std::string& out);

}  // namespace recsys::http
