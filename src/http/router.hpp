// The routes of the HTTP API (docs/serving.md), as a function from a parsed
// request to a response, independent of sockets and threads (the shape of
// Beast's http_server_async handle_request). Reads go through the worker's
// renewed LMDB read snapshot; POST /v1/events is parsed and validated here and
// then handed to the writer thread by the session (Handled::deferred).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "http/admission.hpp"
#include "http/event_writer.hpp"
#include "http/metrics.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "rank/realtime.hpp"
#include "store/database.hpp"

namespace recsys::http {

// State every worker shares; read-only once serving starts except the counters.
struct SharedState {
  store::Database* db = nullptr;
  std::string token;  // bearer token for POST /v1/events; empty: open
  // Listening on a loopback address: requests must name this machine in
  // Host (loopback IPs, localhost, or allowed_hosts, in any case), so a web
  // page whose own name points at 127.0.0.1 (DNS rebinding) is refused.
  bool loopback_only = false;
  std::vector<std::string> allowed_hosts;
  Limits limits;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::atomic<std::uint64_t> connections{0};  // every open client connection (the metric)
  // Those that count against --max-connections: all but the health reserve's
  // (Admission::Overflow). Counting the reserve too kept newcomers at 503 for
  // seconds after a flood, while answered reserve connections lingered.
  std::atomic<std::uint64_t> capped_connections{0};
  AddressTable addresses;  // connections per client address (its own lock)
  std::vector<const WorkerMetrics*> metrics;  // one per worker
  // The events writer, for its state in /readyz and /metrics (atomics; it
  // outlives the workers). Null in tests that route without one.
  const EventWriter* writer = nullptr;
};

// Whether POST /v1/events stores events now: "accepting", "failing" (the last
// commit failed, e.g. a full disk; the next events are tried again),
// "refused" (a failed sync: until restart) or "read-only".
std::string_view events_state(const SharedState& shared);

// Per worker thread: the read snapshot and reusable buffers.
struct HandlerContext {
  SharedState& shared;
  const store::Txn& txn;
  std::string id;                      // decoded path id
  std::string scratch;
  std::vector<std::string> excluded;   // JSON-quoted ids from exclude=
  std::size_t excluded_count = 0;
  std::vector<rank::Event> events;     // parsed POST body (deferred)
};

struct Handled {
  Route route = Route::Other;
  bool deferred = false;  // events in ctx.events wait for the writer
};

Handled handle_request(const Request& request, Response& response, HandlerContext& ctx);

// For a request whose header is in and whose body is not: its route when it
// is refused whatever the body holds (POST /v1/events with a wrong token,
// from another site's page, or to a read-only server), the answer then in
// `response`. A client that sent "Expect: 100-continue" gets that answer
// instead of the interim 100, and need not send the body (RFC 9110 10.1.1).
std::optional<Route> refused_before_body(const Request& request, Response& response, const SharedState& shared);

}  // namespace recsys::http
