#include "http/server.hpp"

#include <signal.h>

#include <fmt/format.h>

#include <memory>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "config.h"
#include "http/event_writer.hpp"
#include "http/stop_signals.hpp"
#include "store/models.hpp"
#include "util/log.hpp"

#if RECSYS_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace recsys::http {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::size_t kFixedDescriptors = 64;

void notify([[maybe_unused]] const char* state) {
#if RECSYS_HAVE_SYSTEMD
  sd_notify(0, state);
#endif
}

// systemd watchdog: pings at half the configured interval on worker 0's
// io_context until stop(), which must run at shutdown: a pending timer would
// keep that io_context, and so the process, alive after SIGTERM.
class Watchdog {
 public:
  explicit Watchdog(asio::io_context& io) : timer_(io) {}
  void start() {
#if RECSYS_HAVE_SYSTEMD
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
    interval_ = std::chrono::microseconds(usec / 2);
    ping();
#endif
  }
  // Call on the io_context's thread.
  void stop() {
    stopped_ = true;
    timer_.cancel();
  }

 private:
  void ping() {
    notify("WATCHDOG=1");
    timer_.expires_after(interval_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec && !stopped_) ping();
    });
  }
  asio::steady_timer timer_;
  std::chrono::microseconds interval_{0};
  bool stopped_ = false;
};

bool is_loopback(const asio::ip::address& a) {
  if (a.is_v4()) return a.to_v4().is_loopback();
  const auto v6 = a.to_v6();
  return v6.is_loopback() || (v6.is_v4_mapped() && asio::ip::make_address_v4(asio::ip::v4_mapped, v6).is_loopback());
}

}  // namespace

void serve(store::Database& db, const ServerOptions& options) {
  SharedState shared;
  shared.db = &db;
  shared.token = options.token;
  shared.limits = options.limits;
  EventWriterOptions writer_options;
  writer_options.sync_every_commit = options.sync_every_commit;
  writer_options.lock_timeout = options.event_timeout;
  EventWriter writer(db, writer_options);
  shared.writer = &writer;

  const unsigned n = std::max(1u, options.threads);
  // Connections must fit the descriptor limit with the overflow reserve and
  // the process's own descriptors (LMDB, epoll, timers, logs, ...) beside them.
  const std::size_t max_connections =
      fit_descriptor_limit(options.max_connections, kFixedDescriptors + n * (kOverflowReserve + 8));
  shared.addresses.set_limit(options.max_connections_per_ip.value_or(std::max<std::size_t>(1, max_connections / 4)));
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < n; ++i) {
    workers.push_back(std::make_unique<Worker>(shared, writer, options.timeouts, max_connections,
                                               options.access_log));
    shared.metrics.push_back(&workers.back()->metrics());
  }
  boost::system::error_code ec;
  auto address = asio::ip::make_address(options.address, ec);
  if (ec) throw std::runtime_error("--address '" + options.address + "' is not an IP address");
  tcp::endpoint endpoint(address, options.port);
  try {
    // One listening socket per server, shared by every worker.
    workers[0]->listen(endpoint);
    endpoint = workers[0]->local_endpoint();  // the real port when 0 was asked
    for (unsigned i = 1; i < n; ++i) workers[i]->share_listener(*workers[0]);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("cannot listen on " + options.address + ":" + std::to_string(options.port) + ": " +
                             e.code().message());
  }

  shared.loopback_only = is_loopback(address);
  shared.allowed_hosts = options.allowed_hosts;
  if (options.token.empty() && !shared.loopback_only) {
    log::warn("POST /v1/events accepts unauthenticated writes on {}: set --token-file or RECSYS_TOKEN_FILE",
              options.address);
  }

  // Signals and the watchdog live on worker 0; shutdown is posted to every worker.
  Watchdog watchdog(workers[0]->io());
  // SIGHUP (the terminal or ssh session went away) stops it like SIGTERM,
  // unless the process was started ignoring it (nohup). A log reader that
  // went away (`serve 2>&1 | head`) must not end the server: SIGPIPE is ignored
  // (sockets are written with MSG_NOSIGNAL anyway).
  // The handler outlives this function (stop_signals.hpp): a second signal
  // while the database closes is absorbed, not the end of the process.
  StopSignals signals(workers[0]->io());
  ::signal(SIGPIPE, SIG_IGN);
  signals.async_wait([&](int signal) {
    log::info("received {}: finishing in-flight requests",
              signal == SIGINT ? "SIGINT" : signal == SIGHUP ? "SIGHUP" : "SIGTERM");
    notify("STOPPING=1");
    watchdog.stop();
    for (auto& w : workers) w->shutdown();
  });
  watchdog.start();

  {
    auto txn = db.begin_read();
    auto gen = store::serving_generation(db, txn);
    // "listening" comes last: scripts and tests wait for it, and may then read
    // every line before it.
    log::info("at most {} connections, {} per client address", max_connections,
              shared.addresses.limit() == 0 ? std::string("no limit") : std::to_string(shared.addresses.limit()));
    log::info("listening on {}:{} with {} threads, serving model {}", endpoint.address().to_string(),
              endpoint.port(), n, gen ? std::to_string(*gen) : std::string("none (run recsys precompute)"));
  }
  notify("READY=1");

  std::vector<std::thread> threads;
  try {
    for (unsigned i = 1; i < n; ++i) threads.emplace_back([&, i] { workers[i]->run(); });
  } catch (const std::system_error& e) {
    // A worker thread the system will not start (its stack under an
    // address-space limit): stop the started ones and say so. Destroyed
    // unjoined, they made std::terminate abort the process.
    for (auto& w : workers) w->shutdown();
    for (auto& t : threads) t.join();
    throw std::runtime_error(fmt::format("cannot start worker thread {} of {}: {} (fewer --threads, or raise the "
                                         "process's limits)",
                                         threads.size() + 2, n, e.what()));
  }
  workers[0]->run();
  for (auto& t : threads) t.join();
  writer.stop();
  log::info("stopped");
}

}  // namespace recsys::http
