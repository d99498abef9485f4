#include "http/worker.hpp"

#include <boost/asio/socket_base.hpp>
#include <boost/asio/write.hpp>

#include "http/session.hpp"
#include "util/log.hpp"

namespace recsys::http {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr std::string_view kRefusalBody =
    "{\"error\":{\"code\":\"too_many_connections\",\"message\":\"connection limit reached\"}}";

std::string refusal() {
  Response r;
  r.status = 503;
  r.body = kRefusalBody;
  std::string out;
  serialize(r, false, 11, http_date(), false, out);
  return out;
}
}  // namespace

Worker::Worker(SharedState& shared, EventWriter& writer, const Timeouts& timeouts, std::size_t max_connections,
               bool access_log)
    : shared_(shared),
      writer_(writer),
      timeouts_(timeouts),
      max_connections_(max_connections),
      access_log_(access_log),
      date_(http_date()) {
  txn_ = shared_.db->begin_read();
  txn_.reset();
  context_.reset(new HandlerContext{shared_, txn_, {}, {}, {}, 0, {}});
}

Worker::~Worker() = default;

void Worker::run() {
  try {
    io_.run();
  } catch (const std::exception& e) {
    log::exit_on_thread_error("server worker", e.what());
  }
}

void Worker::listen(const tcp::endpoint& endpoint) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  int one = 1;
  if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    throw std::runtime_error("cannot set SO_REUSEPORT on the listening socket");
  }
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  accept();
  tick();
}

void Worker::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopping_) return;
    if (ec) {
      // Out of descriptors and the like: retry shortly instead of spinning.
      log::warn("accept: {}", ec.message());
      auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(50));
      timer->async_wait([this, timer](const boost::system::error_code&) { accept(); });
      return;
    }
    if (shared_.connections.load(std::memory_order_relaxed) >= max_connections_) {
      refuse(socket);
    } else {
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(socket), *this)->start();
    }
    accept();
  });
}

// Over the connection cap: a short 503 and close, without reading the request.
void Worker::refuse(tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.non_blocking(true, ignored);
  const std::string response = refusal();  // rare path: no need to cache
  asio::write(socket, asio::buffer(response), ignored);
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
  metrics_.record(Route::Other, 503, 0.0);
}

// Once a second: refresh the Date header and close connections past their deadline.
void Worker::tick() {
  ticker_.expires_after(std::chrono::seconds(1));
  ticker_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    date_ = http_date();
    auto now = Session::Clock::now();
    // While stopping, connections still busy after the grace period are cut.
    bool cut = stopping_ && now > stop_deadline_;
    std::vector<Session*> snapshot(sessions_.begin(), sessions_.end());
    for (auto* s : snapshot) cut ? s->close() : s->check_deadline(now);
    if (stopping_ && sessions_.empty()) return;
    tick();
  });
}

void Worker::shutdown() {
  asio::post(io_, [this] {
    stopping_ = true;
    stop_deadline_ = Session::Clock::now() + timeouts_.shutdown;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    std::vector<Session*> snapshot(sessions_.begin(), sessions_.end());
    for (auto* s : snapshot) s->stop();
    if (sessions_.empty()) ticker_.cancel();
  });
}

// The snapshot holds the map lock shared only during a batch, so a resize
// (store/map_lock.hpp) waits at most for the batches in flight.
HandlerContext& Worker::begin_batch() {
  if (in_batch_) return *context_;
  shared_.db->renew(txn_);
  in_batch_ = true;
  return *context_;
}

void Worker::end_batch() {
  if (!in_batch_) return;
  txn_.reset();
  in_batch_ = false;
}

}  // namespace recsys::http
