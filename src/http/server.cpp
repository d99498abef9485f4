#include "http/server.hpp"

#include <boost/asio/signal_set.hpp>

#include <memory>
#include <thread>
#include <vector>

#include "config.h"
#include "http/event_writer.hpp"
#include "store/models.hpp"
#include "util/log.hpp"

#if RECSYS_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace recsys::http {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

void notify([[maybe_unused]] const char* state) {
#if RECSYS_HAVE_SYSTEMD
  sd_notify(0, state);
#endif
}

// systemd watchdog: ping at half the configured interval from worker 0.
void start_watchdog([[maybe_unused]] asio::io_context& io) {
#if RECSYS_HAVE_SYSTEMD
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  auto timer = std::make_shared<asio::steady_timer>(io);
  auto interval = std::chrono::microseconds(usec / 2);
  auto ping = std::make_shared<std::function<void()>>();
  *ping = [timer, interval, ping] {
    sd_notify(0, "WATCHDOG=1");
    timer->expires_after(interval);
    timer->async_wait([ping](const boost::system::error_code& ec) {
      if (!ec) (*ping)();
    });
  };
  (*ping)();
#endif
}

}  // namespace

void serve(store::Database& db, const ServerOptions& options) {
  SharedState shared;
  shared.db = &db;
  shared.token = options.token;
  shared.limits = options.limits;
  EventWriterOptions writer_options;
  writer_options.sync_every_commit = options.sync_every_commit;
  EventWriter writer(db, writer_options);

  const unsigned n = std::max(1u, options.threads);
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < n; ++i) {
    workers.push_back(std::make_unique<Worker>(shared, writer, options.timeouts, options.max_connections,
                                               options.access_log));
    shared.metrics.push_back(&workers.back()->metrics());
  }
  boost::system::error_code ec;
  auto address = asio::ip::make_address(options.address, ec);
  if (ec) throw std::runtime_error("--address '" + options.address + "' is not an IP address");
  tcp::endpoint endpoint(address, options.port);
  try {
    workers[0]->listen(endpoint);
    endpoint = workers[0]->local_endpoint();  // the real port when 0 was asked
    for (unsigned i = 1; i < n; ++i) workers[i]->listen(endpoint);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("cannot listen on " + options.address + ":" + std::to_string(options.port) + ": " +
                             e.code().message());
  }

  // Signals are handled on worker 0; shutdown is posted to every worker.
  asio::signal_set signals(workers[0]->io(), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& error, int signal) {
    if (error) return;
    log::info("received {}: finishing in-flight requests", signal == SIGINT ? "SIGINT" : "SIGTERM");
    notify("STOPPING=1");
    for (auto& w : workers) w->shutdown();
  });
  start_watchdog(workers[0]->io());

  {
    auto txn = db.begin_read();
    auto gen = store::serving_generation(db, txn);
    log::info("listening on {}:{} with {} threads, serving model {}", endpoint.address().to_string(),
              endpoint.port(), n, gen ? std::to_string(*gen) : std::string("none (run recsys precompute)"));
  }
  notify("READY=1");

  std::vector<std::thread> threads;
  for (unsigned i = 1; i < n; ++i) threads.emplace_back([&, i] { workers[i]->run(); });
  workers[0]->run();
  for (auto& t : threads) t.join();
  writer.stop();
  log::info("stopped");
}

}  // namespace recsys::http
