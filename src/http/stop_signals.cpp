#include "http/stop_signals.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>

#include "util/log.hpp"

namespace recsys::http {

namespace {

// Created once, never closed: a handler may run at any moment until exit, and
// a closed descriptor's number could be reused by a file (the LMDB data file)
// that the handler's byte would then land in.
int pipe_read = -1;
int pipe_write = -1;
std::once_flag pipe_once;

void on_signal(int sig) {
  const int saved = errno;
  const auto byte = static_cast<unsigned char>(sig);
  // Full (no one reads any more): the signal is absorbed all the same.
  [[maybe_unused]] ssize_t written = ::write(pipe_write, &byte, 1);
  errno = saved;
}

void open_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
    throw std::runtime_error(std::string("cannot create the signal pipe: ") + std::strerror(errno));
  pipe_read = fds[0];
  pipe_write = fds[1];
}

}  // namespace

StopSignals::StopSignals(boost::asio::io_context& io) : pipe_(io) {
  std::call_once(pipe_once, open_pipe);
  unsigned char stale[64];
  while (::read(pipe_read, stale, sizeof stale) > 0) {
  }
  // A descriptor of its own for asio, which closes it; the pipe stays open.
  const int fd = ::fcntl(pipe_read, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("cannot duplicate the signal pipe: ") + std::strerror(errno));
  pipe_.assign(fd);

  struct sigaction action {};
  action.sa_handler = on_signal;
  sigfillset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // system calls in flight (LMDB's writes, fsync) go on
  for (int sig : std::array{SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction current {};
    // SIGHUP that the process was started ignoring (nohup) stays ignored.
    // SIGINT and SIGTERM are always taken, as asio's signal_set did: a
    // script's background job starts with SIGINT ignored, and `kill -INT`
    // must still stop it.
    if (sig == SIGHUP && ::sigaction(sig, nullptr, &current) == 0 && current.sa_handler == SIG_IGN) continue;
    if (::sigaction(sig, &action, nullptr) != 0)
      throw std::runtime_error(std::string("cannot handle signal ") + std::to_string(sig) + ": " +
                               std::strerror(errno));
  }
}

void StopSignals::async_wait(std::function<void(int)> on_stop) {
  pipe_.async_read_some(boost::asio::buffer(&received_, 1),
                        [this, on_stop = std::move(on_stop)](const boost::system::error_code& ec, std::size_t n) {
                          if (ec == boost::asio::error::operation_aborted) return;  // closed: serve is ending
                          // A pipe that cannot be read any more would absorb
                          // every later signal: stop now rather than never.
                          if (ec || n != 1) {
                            log::error("the signal pipe failed ({}): stopping as for SIGTERM",
                                       ec ? ec.message() : std::string("end of file"));
                            on_stop(SIGTERM);
                            return;
                          }
                          on_stop(received_);
                        });
}

}  // namespace recsys::http
