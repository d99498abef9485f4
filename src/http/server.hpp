// recsys serve: the HTTP server over the LMDB cache. N worker threads each run
// their own io_context and accept on the server's one listening socket; one writer thread applies
// POST /v1/events. SIGTERM/SIGINT stop accepting, let in-flight requests
// finish, and return (the caller then closes the environment).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "http/request.hpp"
#include "http/worker.hpp"
#include "store/database.hpp"

namespace recsys::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  // On a loopback address, the Host names answered besides localhost and
  // loopback IPs (--allow-host: a name a proxy on this machine passes on).
  std::vector<std::string> allowed_hosts;
  std::uint16_t port = 8080;  // 0: any free port (logged)
  unsigned threads = 1;
  std::string token;          // bearer token for POST /v1/events; empty: open
  std::size_t max_connections = 10000;
  // Per client address; unset: a quarter of max_connections; 0: no limit.
  std::optional<std::size_t> max_connections_per_ip;
  bool access_log = false;
  bool sync_every_commit = false;  // sync the meta page at each events commit too (docs/serving.md)
  // How long an events request may wait for another process's write lock.
  std::chrono::seconds event_timeout{10};
  Limits limits;
  Timeouts timeouts;
};

// Serves until SIGTERM or SIGINT.
void serve(store::Database& db, const ServerOptions& options);

}  // namespace recsys::http
