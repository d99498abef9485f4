// One client connection: reads requests (pipelined ones too), answers them in
// order, writes every response of a batch with one write, and keeps the
// connection open (HTTP/1.1 keep-alive) until the client closes it, a time-out
// expires or the server stops. All of its work runs on its worker's thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "http/admission.hpp"
#include "http/event_writer.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace recsys::http {

class Worker;

class Session : public std::enable_shared_from_this<Session> {
 public:
  using Clock = std::chrono::steady_clock;

  Session(boost::asio::ip::tcp::socket socket, Worker& worker);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // `slot`: this connection's share of its address's limit. `overflow`:
  // admitted over the connection cap to answer one /healthz (others get 503).
  void start(AddressSlot slot = {}, bool overflow = false);
  // Since when the connection waits for a new request with nothing buffered
  // (an idle keep-alive connection, which may be closed to make room).
  std::optional<Clock::time_point> idle_since() const;
  // Called by the worker: closes the socket if the deadline passed.
  void check_deadline(Clock::time_point now);
  // Server stopping: idle connections close now; busy ones, and ones whose
  // next request has begun to arrive, after its response.
  void stop();
  void close();

 private:
  // Lingering: the last response is written and the sending side shut; what
  // the client still sends is read and dropped until it closes or a short
  // deadline, so the response is not lost to a reset (RFC 9112 9.6).
  enum class State { Reading, Writing, Waiting, Lingering, Closed };

  void linger();
  void on_linger_read(const boost::system::error_code& ec);

  void do_read();
  // Bytes of a request have arrived (parsed or buffered) but not all of it.
  bool request_started() const;
  Clock::time_point read_deadline();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void process();
  bool parse_one();
  void finish_response(unsigned status, bool head);
  void on_events_done(EventResult result);
  void do_write();
  void on_write(const boost::system::error_code& ec);

  boost::asio::ip::tcp::socket socket_;
  Worker& worker_;
  State state_ = State::Reading;
  Clock::time_point deadline_;
  Clock::time_point request_start_;  // first byte of the current request seen
  // Idle since: the connection's start or the last response. Empty lines
  // before a request line (RFC 9112 2.2) do not restart --idle-timeout: CRLFs
  // trickled once a second held a connection past both time-outs.
  Clock::time_point quiet_since_ = Clock::now();
  bool blank_seen_ = false;  // empty lines skipped since quiet_since_
  std::string peer_;                 // client address, for the access log only
  std::optional<Clock::time_point> body_start_;
  bool close_after_write_ = false;
  bool continued_ = false;  // "100 Continue" sent for the current request
  bool stopping_ = false;
  bool overflow_ = false;
  bool capped_ = false;  // counted in SharedState::capped_connections (started, not overflow)
  Clock::time_point overflow_end_;  // an overflow session's whole request is due by then
  AddressSlot slot_;

  std::unique_ptr<char[]> in_;
  std::size_t in_capacity_ = 0;
  std::size_t in_begin_ = 0;
  std::size_t in_end_ = 0;
  std::string out_;

  Request request_;
  std::optional<RequestParser> parser_;
  Response response_;
  int deferred_route_ = 0;
  std::size_t deferred_events_ = 0;  // events in the deferred request (counted when stored)
};

}  // namespace recsys::http
