// A worker thread of the server: its own io_context, its own acceptor on the
// shared port (SO_REUSEPORT: the kernel spreads connections over workers, no
// lock between them), its own metrics, and one LMDB read transaction that is
// renewed for each batch of requests and reset after it (readers never block
// writers and always see the latest commit).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <string>
#include <unordered_set>

#include "http/event_writer.hpp"
#include "http/metrics.hpp"
#include "http/router.hpp"
#include "store/lmdb.hpp"

namespace recsys::http {

class Session;

struct Timeouts {
  std::chrono::seconds idle{60};   // keep-alive connection without a request
  std::chrono::seconds read{10};   // to finish a started request
  std::chrono::seconds write{30};  // to take a response
  std::chrono::seconds shutdown{10};  // for busy connections to finish after SIGTERM
};

class Worker {
 public:
  Worker(SharedState& shared, EventWriter& writer, const Timeouts& timeouts, std::size_t max_connections,
         bool access_log);
  ~Worker();

  boost::asio::io_context& io() { return io_; }
  // Opens this worker's acceptor (SO_REUSEPORT) and starts accepting.
  void listen(const boost::asio::ip::tcp::endpoint& endpoint);
  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  // Runs the io_context; an exception escaping a handler ends the process
  // (log::exit_on_thread_error) rather than calling std::terminate.
  void run();
  // Thread-safe: stop accepting, close idle connections, let busy ones finish.
  void shutdown();

  // Between begin_batch() and end_batch() the context's txn is a live snapshot.
  HandlerContext& begin_batch();
  void end_batch();

  WorkerMetrics& metrics() { return metrics_; }
  SharedState& shared() { return shared_; }
  EventWriter& writer() { return writer_; }
  const Timeouts& timeouts() const { return timeouts_; }
  const std::string& date() const { return date_; }
  bool access_log() const { return access_log_; }
  bool stopping() const { return stopping_; }
  void add(Session* s) { sessions_.insert(s); }
  void remove(Session* s) {
    sessions_.erase(s);
    if (stopping_ && sessions_.empty()) ticker_.cancel();  // nothing left: let run() return
  }

 private:
  void accept();
  void refuse(boost::asio::ip::tcp::socket& socket);
  void tick();

  SharedState& shared_;
  EventWriter& writer_;
  Timeouts timeouts_;
  std::size_t max_connections_;
  bool access_log_;
  boost::asio::io_context io_{1};
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  boost::asio::steady_timer ticker_{io_};
  std::unordered_set<Session*> sessions_;
  WorkerMetrics metrics_;
  store::Txn txn_;  // live (and holding the map lock shared) only inside a batch
  std::unique_ptr<HandlerContext> context_;
  std::string date_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point stop_deadline_;
  bool in_batch_ = false;
};

}  // namespace recsys::http
