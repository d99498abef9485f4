// Metrics in the Prometheus text format (version 0.0.4): requests by route
// and status, a latency histogram, open connections, the serving model
// generation and cache sizes; the events writer's commits; the database's
// sizes and reader table; the process's CPU, memory and descriptors. Each
// worker thread counts into its own WorkerMetrics (no shared cache lines on
// the hot path); /metrics sums them. Documented in docs/serving.md.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "util/process_stats.hpp"

namespace recsys::http {

enum class Route : std::uint8_t { Recommendations, Similar, Events, Model, Healthz, Readyz, Metrics, OpenApi, Other, History, Live, Ui };
inline constexpr std::size_t kRoutes = 12;
const char* route_name(Route r);

// Status codes the server sends; anything else is counted as "other".
inline constexpr std::array<unsigned, 17> kStatuses{200, 304, 400, 401, 403, 404, 405, 408, 413, 414, 415,
                                                   421, 422, 431, 500, 503, 0};
// Upper bounds (seconds) of the latency histogram buckets (+Inf implied).
inline constexpr std::array<double, 10> kLatencyBuckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                        0.005,  0.01,    0.025,  0.1,   1.0};

// Counts of a duration by the buckets above, and their sum. One thread
// records (relaxed read-modify-write without a lock); any thread may read.
class LatencyHistogram {
 public:
  void record(double seconds);
  std::uint64_t bucket(std::size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  double sum() const { return static_cast<double>(ns_.load(std::memory_order_relaxed)) * 1e-9; }

 private:
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size() + 1> buckets_{};
  std::atomic<std::uint64_t> ns_{0};
};

// One writer per counter: store(load + by) instead of a locked add.
inline void bump(std::atomic<std::uint64_t>& c, std::uint64_t by = 1) {
  c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

class WorkerMetrics {
 public:
  void record(Route route, unsigned status, double seconds);
  std::uint64_t requests(Route route, std::size_t status_index) const {
    return requests_[static_cast<std::size_t>(route)][status_index].load(std::memory_order_relaxed);
  }
  const LatencyHistogram& latency() const { return latency_; }
  // Events stored by POST /v1/events (a request may carry many).
  void record_events(std::uint64_t n) { bump(events_, n); }
  std::uint64_t events() const { return events_.load(std::memory_order_relaxed); }

 private:
  std::array<std::array<std::atomic<std::uint64_t>, kStatuses.size()>, kRoutes> requests_{};
  LatencyHistogram latency_;
  std::atomic<std::uint64_t> events_{0};
};

// The events writer's figures (http/event_writer.hpp), absent without one.
struct WriterFigures {
  std::uint64_t commits_ok = 0;
  std::uint64_t commits_failed = 0;
  std::uint64_t pending_requests = 0;
  double lock_wait_seconds = 0;
  std::uint64_t lock_timeouts = 0;
  const LatencyHistogram* commit_seconds = nullptr;
};

// The database environment as every process sees it (store::Env).
struct DatabaseFigures {
  std::uint64_t file_bytes = 0;
  std::uint64_t map_bytes = 0;
  std::uint64_t used_bytes = 0;  // pages of the trees (Database::space_use)
  std::uint64_t end_bytes = 0;   // up to the last page in use
  std::uint64_t last_txn = 0;
  unsigned readers = 0;
  unsigned max_readers = 0;
  std::uint64_t oldest_reader_lag = 0;  // write transactions since the oldest open reader's snapshot
};

struct ServerGauges {
  std::uint64_t connections = 0;
  std::int64_t generation = -1;  // -1: no model served
  std::uint64_t user_lists = 0;
  std::uint64_t similar_lists = 0;
  double uptime_seconds = 0;
  bool events_accepting = true;  // events_state() is "accepting"
  std::optional<WriterFigures> writer;
  std::optional<DatabaseFigures> database;
  std::optional<util::ProcessStats> process;
};

void render_metrics(std::span<const WorkerMetrics* const> workers, const ServerGauges& gauges, std::string& out);

}  // namespace recsys::http
