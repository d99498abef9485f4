#include "http/worker.hpp"

#include <boost/asio/socket_base.hpp>
#include <boost/asio/write.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <system_error>

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
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

Worker::~Worker() {
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

void Worker::run() {
  try {
    io_.run();
  } catch (const std::exception& e) {
    log::exit_on_thread_error("server worker", e.what());
  }
}

void Worker::listen(const tcp::endpoint& endpoint) {
  acceptor_.open(endpoint.protocol());
  // SO_REUSEADDR only skips TIME_WAIT; unlike SO_REUSEPORT it never lets a
  // second listener share the port.
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  accept();
  tick();
}

void Worker::share_listener(Worker& first) {
  int fd = ::dup(first.acceptor_.native_handle());
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "dup of the listening socket");
  acceptor_.assign(first.acceptor_.local_endpoint().protocol(), fd);
  accept();
  tick();
}

void Worker::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopping_) return;
    if (ec) return on_accept_error(ec);
    AddressSlot slot;
    auto admission = admit(socket, slot);
    if (admission == Admission::Refuse) {
      refuse(socket);
    } else {
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      if (admission == Admission::Overflow) ++overflow_;
      std::make_shared<Session>(std::move(socket), *this)->start(std::move(slot), admission == Admission::Overflow);
    }
    accept();
  });
}

// Fair limits (docs/serving.md, "Limits"): an address over its share is
// refused; at the cap the oldest idle keep-alive connection of this worker
// makes room, else the connection may only ask /healthz (a small reserve),
// else it is refused.
Worker::Admission Worker::admit(tcp::socket& socket, AddressSlot& slot) {
  boost::system::error_code ec;
  auto peer = socket.remote_endpoint(ec);
  if (ec) return Admission::Refuse;
  slot = shared_.addresses.acquire(peer.address());
  if (!slot) return Admission::Refuse;
  if (shared_.capped_connections.load(std::memory_order_relaxed) < max_connections_ || evict_idle())
    return Admission::Serve;
  return overflow_ < kOverflowReserve ? Admission::Overflow : Admission::Refuse;
}

// Closes this worker's longest-idle keep-alive connection; false if none is idle.
bool Worker::evict_idle() {
  Session* oldest = nullptr;
  Session::Clock::time_point oldest_since;
  for (auto* s : sessions_) {
    auto since = s->idle_since();
    if (since && (!oldest || *since < oldest_since)) {
      oldest = s;
      oldest_since = *since;
    }
  }
  if (!oldest) return false;
  oldest->close();
  return true;
}

// Out of descriptors: the client would wait in the backlog, and accept would
// fail again at once. Give up the spare descriptor to take the connection and
// answer 503, then retry; log once per 10 s, not per failure.
void Worker::on_accept_error(const boost::system::error_code& ec) {
  ++accept_errors_;
  auto now = std::chrono::steady_clock::now();
  if (now - accept_error_logged_ > std::chrono::seconds(10)) {
    log::warn("accept: {} ({} time(s) since the last report); answering 503 while it lasts", ec.message(),
              accept_errors_);
    accept_error_logged_ = now;
    accept_errors_ = 0;
  }
  bool out_of_fds = ec == asio::error::no_descriptors || ec.value() == ENFILE;
  if (out_of_fds && spare_fd_ >= 0) {
    ::close(spare_fd_);
    int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      const std::string response = refusal();
      [[maybe_unused]] auto sent = ::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
      ::shutdown(fd, SHUT_RDWR);
      ::close(fd);
      metrics_.record(Route::Other, 503, 0.0);
    }
    spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(out_of_fds ? 10 : 50));
  timer->async_wait([this, timer](const boost::system::error_code&) { accept(); });
}

// Over the connection cap: a short 503 and close, without reading the request.
void Worker::refuse(tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.non_blocking(true, ignored);
  const std::string response = refusal();  // rare path: no need to cache
  asio::write(socket, asio::buffer(response), ignored);
  // The request may be in already: closing with it unread sends a reset,
  // which can discard the 503 at the client before it reads it. Drop what
  // has arrived (without waiting for more) before closing.
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  char drop[4096];
  for (int i = 0; i < 16 && socket.read_some(asio::buffer(drop), ignored) > 0;) ++i;
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
