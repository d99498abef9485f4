#include "http/metrics.hpp"

#include <fmt/format.h>

#include <iterator>
#include <string_view>
#include <vector>

#include "config.h"

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

void LatencyHistogram::record(double seconds) {
  std::size_t b = 0;
  while (b < kLatencyBuckets.size() && seconds > kLatencyBuckets[b]) ++b;
  bump(buckets_[b]);
  bump(ns_, static_cast<std::uint64_t>(seconds * 1e9));
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
  latency_.record(seconds);
}

namespace {

using Out = std::back_insert_iterator<std::string>;

void header(Out o, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(o, "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

template <typename T>
void sample(Out o, std::string_view name, std::string_view type, std::string_view help, T value) {
  header(o, name, type, help);
  fmt::format_to(o, "{} {}\n", name, value);
}

// The histograms summed bucket by bucket.
void histogram(Out o, std::string_view name, std::string_view help, std::span<const LatencyHistogram* const> parts) {
  header(o, name, "histogram", help);
  std::uint64_t cumulative = 0;
  double sum = 0;
  for (const auto* h : parts) sum += h->sum();
  for (std::size_t b = 0; b <= kLatencyBuckets.size(); ++b) {
    for (const auto* h : parts) cumulative += h->bucket(b);
    if (b < kLatencyBuckets.size()) {
      fmt::format_to(o, "{}_bucket{{le=\"{}\"}} {}\n", name, kLatencyBuckets[b], cumulative);
    } else {
      fmt::format_to(o, "{}_bucket{{le=\"+Inf\"}} {}\n", name, cumulative);
    }
  }
  fmt::format_to(o, "{}_sum {}\n{}_count {}\n", name, sum, name, cumulative);
}

void render_writer(Out o, const WriterFigures& w) {
  header(o, "recsys_event_commits_total", "counter",
         "Write transactions of POST /v1/events: committed (ok), or failed (refused by the disk or the database, or "
         "an error applying their events; nothing of them stored).");
  fmt::format_to(o, "recsys_event_commits_total{{result=\"ok\"}} {}\nrecsys_event_commits_total{{result=\"failed\"}} {}\n",
                 w.commits_ok, w.commits_failed);
  const LatencyHistogram* parts[] = {w.commit_seconds};
  histogram(o, "recsys_event_commit_duration_seconds",
            "Time of each committed write transaction of events: folding in and ranking its users, then the commit "
            "with its fdatasync.",
            parts);
  sample(o, "recsys_event_requests_pending", "gauge",
         "POST /v1/events requests queued for or inside a write transaction, not yet answered.", w.pending_requests);
  sample(o, "recsys_event_lock_wait_seconds", "gauge",
         "How long the events writer has been waiting for the database's write lock, held by another process (0: "
         "not waiting).",
         fmt::format("{:.3f}", w.lock_wait_seconds));
  sample(o, "recsys_event_lock_timeouts_total", "counter",
         "POST /v1/events requests answered 503 database_busy: their wait for another process's write lock "
         "reached --event-timeout.",
         w.lock_timeouts);
}

void render_database(Out o, const DatabaseFigures& d) {
  sample(o, "recsys_db_file_bytes", "gauge", "Size of the LMDB data file.", d.file_bytes);
  sample(o, "recsys_db_map_bytes", "gauge", "Memory map size of the database in this process (it grows on demand).",
         d.map_bytes);
  sample(o, "recsys_db_used_bytes", "gauge",
         "Pages of the database's trees in the snapshot this request read; the rest of the file up to "
         "recsys_db_end_bytes is free pages LMDB reuses.",
         d.used_bytes);
  sample(o, "recsys_db_end_bytes", "gauge", "Length of the data file up to its last page in use.", d.end_bytes);
  sample(o, "recsys_db_transactions_total", "counter",
         "Write transactions committed to the database by every process (LMDB's last transaction id; a "
         "database restored from a compacted backup starts again).",
         d.last_txn);
  sample(o, "recsys_db_readers", "gauge",
         "Read transactions open now in every process using the database, the one answering this request included.",
         d.readers);
  sample(o, "recsys_db_max_readers", "gauge", "Reader slots of the database (LMDB's maxreaders).", d.max_readers);
  sample(o, "recsys_db_oldest_reader_lag_transactions", "gauge",
         "Write transactions committed since the snapshot of the oldest open read transaction: while it stays open, "
         "the pages those transactions freed are not reused and the file grows.",
         d.oldest_reader_lag);
}

void render_process(Out o, const util::ProcessStats& p) {
  sample(o, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
         p.cpu_seconds);
  sample(o, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", p.resident_bytes);
  sample(o, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes (the database's map included).",
         p.virtual_bytes);
  sample(o, "process_open_fds", "gauge", "Number of open file descriptors.", p.open_fds);
  if (p.max_fds > 0) sample(o, "process_max_fds", "gauge", "Maximum number of open file descriptors.", p.max_fds);
  if (p.start_time_seconds > 0) {
    sample(o, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
           fmt::format("{:.2f}", p.start_time_seconds));
  }
}

}  // namespace

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
  std::vector<const LatencyHistogram*> latencies;
  std::uint64_t events = 0;
  for (const auto* w : workers) {
    latencies.push_back(&w->latency());
    events += w->events();
  }
  histogram(o, "recsys_http_request_duration_seconds", "Time from a complete request to its response.", latencies);
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
                 "failed sync (until restart), while commits fail (a full disk) or while waiting for another "
                 "process's write.\n"
                 "# TYPE recsys_events_accepting gauge\nrecsys_events_accepting {}\n",
                 gauges.connections, gauges.generation, gauges.user_lists, gauges.similar_lists,
                 gauges.uptime_seconds, gauges.events_accepting ? 1 : 0);
  sample(o, "recsys_events_total", "counter", "Events stored by POST /v1/events since the server started.", events);
  if (gauges.writer) render_writer(o, *gauges.writer);
  if (gauges.database) render_database(o, *gauges.database);
  if (gauges.process) render_process(o, *gauges.process);
  header(o, "recsys_build_info", "gauge", "The recsys version serving (always 1).");
  fmt::format_to(o, "recsys_build_info{{version=\"{}\"}} 1\n", RECSYS_VERSION);
}

}  // namespace recsys::http
