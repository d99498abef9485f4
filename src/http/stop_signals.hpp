// The signals that stop serve: SIGINT, SIGTERM and SIGHUP (unless the process
// was started ignoring it, as under nohup), the first delivered to an
// io_context.
//
// Not asio::signal_set: its destructor restores each signal's default action,
// and serve still has work after its io_contexts are gone (the events writer's
// last sync, closing the LMDB environment). A repeated SIGTERM in that time
// (a shell's kill loop, an impatient Ctrl-C, a service manager's second
// signal) ended the process with status 143 mid-close. Here the handler stays
// installed until the process ends: it writes the signal's number into a pipe
// that lives as long as the process, and the first byte read stops serve;
// every later signal is absorbed. A handler that could be removed would reopen
// the window between its removal and the exit.
//
// Threads: the handler runs on any thread and only calls write(2) (async-
// signal-safe) on a descriptor that is never closed. A StopSignals object
// belongs to the thread running its io_context. One at a time per process.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <functional>

namespace recsys::http {

class StopSignals {
 public:
  // Installs the handler (idempotent across objects) and drops signals an
  // earlier object of this process received but did not read.
  explicit StopSignals(boost::asio::io_context& io);
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Calls on_stop(signal number) on io's thread for the first signal since
  // construction (SIGTERM's number if the pipe fails); until then it is
  // pending work that keeps io running.
  void async_wait(std::function<void(int)> on_stop);

 private:
  boost::asio::posix::stream_descriptor pipe_;
  unsigned char received_ = 0;
};

}  // namespace recsys::http
