#include "http/session.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstring>
#include <new>

#include "http/router.hpp"
#include "http/url.hpp"
#include "http/worker.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace recsys::http {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
std::string_view method_name(beast::http::verb v) {
  auto s = beast::http::to_string(v);
  return {s.data(), s.size()};
}

constexpr std::size_t kInitialInput = 16 * 1024;
constexpr std::size_t kMinRead = 4 * 1024;
// Pipelined requests are not parsed while this much output is unsent: a client
// that sends without reading holds at most this plus one response here, so
// the output buffer (doubling from 16 KiB) stays at 256 KiB for answers up to
// 64 KiB.
constexpr std::size_t kMaxPendingOutput = 192 * 1024;
// Buffers that grew past this for one request are given back after it.
constexpr std::size_t kKeepCapacity = 64 * 1024;
// A connection admitted over the cap (Worker: only /healthz) has this long
// for its whole request, however the bytes come: silent sockets then hold the
// reserve for seconds, not for the idle time-out (they kept /healthz at 503).
constexpr auto kOverflowRequestTime = std::chrono::seconds(2);
// How long a connection the server closes after a response keeps reading
// (and dropping) what the client still sends (Session::linger).
constexpr auto kLingerTime = std::chrono::seconds(2);

void shrink(std::string& s) {
  if (s.capacity() > kKeepCapacity) std::string().swap(s);
}
}  // namespace

Session::Session(asio::ip::tcp::socket socket, Worker& worker)
    : socket_(std::move(socket)), worker_(worker), in_(new char[kInitialInput]), in_capacity_(kInitialInput) {
  worker_.shared().connections.fetch_add(1, std::memory_order_relaxed);
  out_.reserve(16 * 1024);
}

Session::~Session() {
  if (overflow_) worker_.overflow_ended();
  if (capped_) worker_.shared().capped_connections.fetch_sub(1, std::memory_order_relaxed);
  worker_.remove(this);
  worker_.shared().connections.fetch_sub(1, std::memory_order_relaxed);
}

void Session::start(AddressSlot slot, bool overflow) {
  if (worker_.access_log()) {
    error_code ec;
    auto endpoint = socket_.remote_endpoint(ec);
    peer_ = ec ? "-" : endpoint.address().to_string();
  }
  slot_ = std::move(slot);
  overflow_ = overflow;
  capped_ = !overflow;
  if (capped_) worker_.shared().capped_connections.fetch_add(1, std::memory_order_relaxed);
  overflow_end_ = Clock::now() + std::min<Clock::duration>(kOverflowRequestTime, worker_.timeouts().read);
  worker_.add(this);
  do_read();
}

std::optional<Session::Clock::time_point> Session::idle_since() const {
  if (state_ == State::Lingering && !overflow_) return deadline_ - kLingerTime;  // answered: the first to make room
  if (state_ != State::Reading || request_started() || overflow_) return std::nullopt;
  return deadline_ - worker_.timeouts().idle;
}

void Session::check_deadline(Clock::time_point now) {
  if (state_ != State::Waiting && now > deadline_) close();
}

bool Session::request_started() const { return parser_ || in_begin_ != in_end_; }

// A request that has begun to arrive is finished (the worker's shutdown
// deadline still cuts a client that never completes it); an idle connection
// is closed at once.
void Session::stop() {
  stopping_ = true;
  if (state_ == State::Lingering) return close();
  if (request_started()) return;  // its response will say Connection: close (finish_response)
  close_after_write_ = true;
  if (state_ == State::Reading) close();
}

void Session::close() {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  worker_.remove(this);
  error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

void Session::do_read() {
  if (stopping_ && !request_started()) return close();
  // Make room: move a partial request to the front, grow up to the header limit.
  if (in_begin_ == in_end_) {
    in_begin_ = in_end_ = 0;
    if (in_capacity_ > kInitialInput) {
      in_.reset(new char[kInitialInput]);
      in_capacity_ = kInitialInput;
    }
  } else if (in_capacity_ - in_end_ < kMinRead) {
    std::size_t pending = in_end_ - in_begin_;
    std::size_t wanted = std::max(in_capacity_, pending + kMinRead);
    if (wanted > in_capacity_) {
      std::unique_ptr<char[]> bigger(new char[wanted]);
      std::memcpy(bigger.get(), in_.get() + in_begin_, pending);
      in_ = std::move(bigger);
      in_capacity_ = wanted;
    } else {
      std::memmove(in_.get(), in_.get() + in_begin_, pending);
    }
    in_begin_ = 0;
    in_end_ = pending;
  }
  deadline_ = read_deadline();
  state_ = State::Reading;
  socket_.async_read_some(asio::buffer(in_.get() + in_end_, in_capacity_ - in_end_),
                          [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_read(ec, n); });
}

// Deadlines that hold however the bytes trickle in: an idle connection has
// --idle-timeout; a header block must be complete --read-timeout after its
// first byte; a body gets the same grace plus one second per min_body_rate
// bytes received (mod_reqtimeout's MinRate), counted from the end of the header.
Session::Clock::time_point Session::read_deadline() {
  const auto& t = worker_.timeouts();
  auto now = Clock::now();
  if (overflow_) return overflow_end_;
  if (!parser_) {
    if (blank_seen_) {
      // A lone CR waiting for its LF is a request line begun: no later than --read-timeout.
      const auto idle_end = quiet_since_ + t.idle;
      return in_begin_ == in_end_ ? idle_end : std::min(idle_end, now + t.read);
    }
    return in_begin_ == in_end_ ? now + t.idle : now + t.read;
  }
  if (!parser_->is_header_done()) return request_start_ + t.read;
  if (!body_start_) body_start_ = now;
  if (t.min_body_rate == 0) return now + t.read;
  auto earned = std::chrono::duration<double>(static_cast<double>(parser_->body_received()) / t.min_body_rate);
  return *body_start_ + t.read + std::chrono::duration_cast<Clock::duration>(earned);
}

void Session::on_read(const error_code& ec, std::size_t n) {
  if (state_ == State::Closed) return;
  if (ec) return close();
  in_end_ += n;
  process();
}

// Answers every complete request in the input buffer, then writes, waits for
// the event writer, or reads more.
void Session::process() {
  while (!close_after_write_ && in_begin_ < in_end_ && out_.size() < kMaxPendingOutput) {
    if (!parse_one()) break;
  }
  worker_.end_batch();
  if (state_ == State::Waiting || state_ == State::Closed) return;
  if (!out_.empty()) return do_write();
  if (close_after_write_) return close();
  do_read();
}

// Parses and answers one request; false when more input is needed or the
// session now waits for the event writer.
bool Session::parse_one() {
  if (!parser_) {
    // RFC 9112 2.2: empty lines before a request line are ignored (some
    // clients send a CRLF after a POST body; it was refused as a bad method).
    const std::size_t before = in_begin_;
    while (in_end_ - in_begin_ >= 2 && in_[in_begin_] == '\r' && in_[in_begin_ + 1] == '\n') in_begin_ += 2;
    const bool half = in_end_ - in_begin_ == 1 && in_[in_begin_] == '\r';
    if (in_begin_ != before || half) blank_seen_ = true;
    if (in_begin_ == in_end_ || half) return false;  // more to come
  }
  if (!parser_) {
    parser_.emplace(request_, worker_.shared().limits, worker_.shared().token);
    request_start_ = Clock::now();
  }
  boost::beast::error_code ec;
  std::size_t used = parser_->feed(in_.get() + in_begin_, in_end_ - in_begin_, ec);
  in_begin_ += used;
  // Headers, chunk-size lines and trailers over their limits are refused by
  // feed(), so waiting for more is bounded.
  // RFC 9110 10.1.1: a client that sent "Expect: 100-continue" waits for
  // this interim answer before it sends the body (curl for a second, some
  // clients until a time-out). The final answer follows as usual. A request
  // refused whatever its body holds (a wrong token, another site's page) gets
  // its final answer instead, and the connection closes unread: the client
  // need not send the body, and the server does not read it.
  auto send_continue = [&] {
    if (!request_.expect_continue || continued_ || !parser_->is_header_done()) return;
    continued_ = true;
    response_.clear();
    if (auto route = refused_before_body(request_, response_, worker_.shared())) {
      request_.keep_alive = false;
      close_after_write_ = true;
      worker_.metrics().record(*route, response_.status, 0.0);
      finish_response(response_.status, request_.method == beast::http::verb::head);
      return;
    }
    out_ += "HTTP/1.1 100 Continue\r\n\r\n";
  };
  if (ec == boost::beast::http::error::need_more) {
    send_continue();
    return false;
  }
  response_.clear();
  if (ec) {
    auto refused = parser_->refusal(ec);
    set_error(response_, refused.status, refused.code, refused.message);
    request_.keep_alive = false;
    close_after_write_ = true;
    worker_.metrics().record(Route::Other, refused.status, 0.0);
    finish_response(refused.status, false);
    return false;
  }
  if (!parser_->is_done()) {
    if (in_begin_ < in_end_) return true;
    send_continue();
    return false;
  }
  if (overflow_) {
    // Over the connection cap: liveness answers, everything else is refused.
    close_after_write_ = true;
    // Liveness by its path, whatever the query or the target's form.
    if (split_target(request_.target).path != "/healthz") {
      set_error(response_, 503, "too_many_connections", "connection limit reached");
      worker_.metrics().record(Route::Other, 503, 0.0);
      finish_response(503, request_.method == beast::http::verb::head);
      return false;
    }
  }
  Handled h;
  try {
    h = handle_request(request_, response_, worker_.begin_batch());
  } catch (const std::bad_alloc&) {
    // The server's state, not the request's fault: a client may retry.
    log::error("{} {}: out of memory", method_name(request_.method), util::terminal_safe(request_.target));
    response_.clear();
    set_error(response_, 503, "unavailable", "the server is out of memory: retry later");
  } catch (const std::exception& e) {
    log::error("{} {}: {}", method_name(request_.method), util::terminal_safe(request_.target), e.what());
    response_.clear();
    set_error(response_, 500, "internal", e.what());
  }
  if (h.deferred) {
    // Events: the writer thread stores them; this session continues when committed.
    state_ = State::Waiting;
    deferred_route_ = static_cast<int>(h.route);
    auto events = std::move(worker_.begin_batch().events);
    deferred_events_ = events.size();
    worker_.begin_batch().events = {};
    // The work guard keeps the worker's io_context running until the answer is
    // posted back. The callback runs on the writer thread: it moves its
    // reference to this session into the posted handler, so the session is
    // always released on its own worker thread (~Session touches the worker).
    worker_.writer().submit(std::move(events), [self = shared_from_this(), work = asio::make_work_guard(worker_.io())](
                                                   EventResult result) mutable {
      auto executor = work.get_executor();
      asio::post(executor, [self = std::move(self), work = std::move(work), r = std::move(result)]() mutable {
        self->on_events_done(std::move(r));
      });
    });
    return false;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - request_start_).count();
  worker_.metrics().record(h.route, response_.status, seconds);
  finish_response(response_.status, request_.method == beast::http::verb::head);
  return true;
}

void Session::finish_response(unsigned status, bool head) {
  if (!request_.keep_alive || stopping_) close_after_write_ = true;
  serialize(response_, !close_after_write_, request_.version, worker_.date(), head, out_);
  if (worker_.access_log()) {
    // Client, request, status, body bytes, time since its first byte.
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - request_start_).count();
    log::info("access {} {} {} {} {} {:.2f}ms", peer_, method_name(request_.method), util::terminal_safe(request_.target),
              status, response_.body.size(), ms);
  }
  parser_.reset();
  continued_ = false;
  body_start_.reset();
  quiet_since_ = Clock::now();
  blank_seen_ = false;
  shrink(request_.body);
  shrink(response_.body);
}

void Session::on_events_done(EventResult result) {
  if (state_ == State::Closed) return;
  response_.clear();
  response_.status = result.status;
  response_.body = std::move(result.body);
  double seconds = std::chrono::duration<double>(Clock::now() - request_start_).count();
  worker_.metrics().record(static_cast<Route>(deferred_route_), result.status, seconds);
  if (result.status == 200) worker_.metrics().record_events(deferred_events_);
  finish_response(result.status, false);
  state_ = State::Reading;
  process();
}

void Session::do_write() {
  state_ = State::Writing;
  deadline_ = Clock::now() + worker_.timeouts().write;
  asio::async_write(socket_, asio::buffer(out_),
                    [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_write(ec); });
}

void Session::on_write(const error_code& ec) {
  if (state_ == State::Closed) return;
  out_.clear();
  if (ec) return close();
  if (close_after_write_) return linger();
  if (out_.capacity() > kKeepCapacity) {
    out_ = std::string();
    out_.reserve(16 * 1024);
  }
  state_ = State::Reading;
  if (in_begin_ < in_end_) return process();
  do_read();
}

// The server closes after this response (a refusal, Connection: close, a
// stop) while the client may still be sending: a request body it refused
// unread, pipelined requests. Closing a socket with unread input makes the
// kernel send a reset, and a reset arriving before the client read the
// response discards it there (curl: "Send failure: Broken pipe" instead of
// the 413). So: shut the sending side (the client sees the end of the
// response), read and drop its bytes until it closes, an error, or
// kLingerTime (check_deadline), then close. A stopping server does not wait.
void Session::linger() {
  if (stopping_) return close();
  error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  state_ = State::Lingering;
  deadline_ = Clock::now() + kLingerTime;
  in_begin_ = in_end_ = 0;
  socket_.async_read_some(asio::buffer(in_.get(), in_capacity_),
                          [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_linger_read(ec); });
}

void Session::on_linger_read(const error_code& ec) {
  if (state_ != State::Lingering) return;
  if (ec) return close();  // the client closed (EOF) or reset
  socket_.async_read_some(asio::buffer(in_.get(), in_capacity_),
                          [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_linger_read(ec); });
}

}  // namespace recsys::http
