// A worker thread of the server: its own io_context, its own acceptor handle on
// the server's one listening socket (worker 0 binds it, the others hold a dup of
// its descriptor: whichever worker's reactor wakes first accepts, no lock between
// them, and no second process can join the port as SO_REUSEPORT would allow),
// its own metrics, and one LMDB read transaction that is
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

// Connections a worker admits over --max-connections, only to answer
// /healthz (everything else gets 503): liveness checks pass during a flood.
inline constexpr std::size_t kOverflowReserve = 16;

// The model is nginx's client_header_timeout / client_body_timeout /
// send_timeout and Apache mod_reqtimeout's MinRate (docs/serving.md).
struct Timeouts {
  std::chrono::seconds idle{60};   // keep-alive connection without a request
  std::chrono::seconds read{10};   // header block, from its first byte; grace for a body
  std::uint32_t min_body_rate = 500;  // bytes/s a body must keep after the read grace (0: none)
  std::chrono::seconds write{30};  // to take each batch of responses
  std::chrono::seconds shutdown{10};  // for busy connections to finish after SIGTERM
};

class Worker {
 public:
  Worker(SharedState& shared, EventWriter& writer, const Timeouts& timeouts, std::size_t max_connections,
         bool access_log);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  boost::asio::io_context& io() { return io_; }
  // Binds the server's listening socket (worker 0) and starts accepting; a port
  // in use fails with "address already in use", whoever holds it.
  void listen(const boost::asio::ip::tcp::endpoint& endpoint);
  // Accepts on `first`'s listening socket too (through a duplicated descriptor).
  void share_listener(Worker& first);
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
  // Sessions admitted over the cap to answer /healthz (Admission::Overflow).
  void overflow_ended() { --overflow_; }
  void remove(Session* s) {
    sessions_.erase(s);
    if (stopping_ && sessions_.empty()) ticker_.cancel();  // nothing left: let run() return
  }

 private:
  void accept();
  enum class Admission { Serve, Overflow, Refuse };
  Admission admit(boost::asio::ip::tcp::socket& socket, AddressSlot& slot);
  bool evict_idle();
  void on_accept_error(const boost::system::error_code& ec);
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
  std::size_t overflow_ = 0;          // sessions admitted over the cap (at most kOverflowReserve)
  int spare_fd_ = -1;                 // closed to accept and answer a client when out of descriptors
  std::chrono::steady_clock::time_point accept_error_logged_;
  std::size_t accept_errors_ = 0;     // since the last log line
  WorkerMetrics metrics_;
  store::Txn txn_;  // live (and holding the map lock shared) only inside a batch
  std::unique_ptr<HandlerContext> context_;
  std::string date_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point stop_deadline_;
  bool in_batch_ = false;
};

}  // namespace recsys::http
