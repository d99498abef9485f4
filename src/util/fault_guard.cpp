#include "util/fault_guard.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <string>

#include "util/log.hpp"

namespace recsys::util {

namespace {

constexpr std::array<int, 3> kSignals{SIGSEGV, SIGBUS, SIGABRT};
constexpr std::array<int, 3> kInterrupts{SIGINT, SIGTERM, SIGHUP};
// Written by the guard's thread before the flag that arms them, read only by
// the handlers (any thread); one guard at a time.
char message_text[1024];
char interrupt_text[1024];
char file_path[4096];
char dir_path[4096];
std::size_t message_length = 0;
std::size_t interrupt_length = 0;
std::atomic<bool> file_armed{false};
std::atomic<bool> dir_armed{false};
static_assert(std::atomic<bool>::is_always_lock_free, "read in a signal handler");
struct sigaction previous[kSignals.size()];
struct sigaction previous_interrupt[kInterrupts.size()];
bool interrupt_set[kInterrupts.size()] = {};

void copy(char* out, std::size_t size, std::string_view in) {
  const std::size_t n = std::min(in.size(), size - 1);
  if (n > 0) std::memcpy(out, in.data(), n);  // an empty view's data() may be null
  out[n] = '\0';
}

void remove_armed() {
  if (file_armed.load()) ::unlink(file_path);
  if (dir_armed.load()) ::rmdir(dir_path);
}

void on_fault(int) {
  remove_armed();
  [[maybe_unused]] ssize_t written = ::write(STDERR_FILENO, message_text, message_length);
  ::_exit(1);
}

// The signal stays blocked while its handler runs, so the raise takes effect
// with the default action as the handler returns.
void on_interrupt(int sig) {
  // With nothing armed (not yet created, or the work already whole) there is
  // nothing removed to speak of.
  static const char plain[] = "\nrecsys: interrupted\n";
  const bool removing = file_armed.load();
  remove_armed();
  [[maybe_unused]] ssize_t written = removing ? ::write(STDERR_FILENO, interrupt_text, interrupt_length)
                                              : ::write(STDERR_FILENO, plain, sizeof plain - 1);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

FaultGuard::FaultGuard(std::string_view message, std::string_view interrupt_message) {
  file_armed.store(false);
  dir_armed.store(false);
  // The journal's error priority when stderr is the journal (log.hpp).
  copy(message_text, sizeof message_text, std::string(log::error_prefix()).append(message));
  message_length = std::strlen(message_text);
  copy(interrupt_text, sizeof interrupt_text, interrupt_message);
  interrupt_length = std::strlen(interrupt_text);
  struct sigaction action {};
  action.sa_handler = on_fault;
  sigemptyset(&action.sa_mask);
  // A fault's line is not cut short by Ctrl-C (nor an interrupt's by a fault's handler).
  for (int sig : kInterrupts) sigaddset(&action.sa_mask, sig);
  for (std::size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &action, &previous[i]);
  if (interrupt_message.empty()) return;
  // One handler's cleanup is not cut by another interrupt: all three are held while it runs.
  action.sa_handler = on_interrupt;
  for (std::size_t i = 0; i < kInterrupts.size(); ++i) {
    // A signal the caller ignores (nohup, a background job of a script) stays ignored.
    if (::sigaction(kInterrupts[i], nullptr, &previous_interrupt[i]) != 0 ||
        previous_interrupt[i].sa_handler == SIG_IGN)
      continue;
    interrupt_set[i] = ::sigaction(kInterrupts[i], &action, nullptr) == 0;
  }
}

FaultGuard::~FaultGuard() {
  for (std::size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &previous[i], nullptr);
  for (std::size_t i = 0; i < kInterrupts.size(); ++i) {
    if (interrupt_set[i]) ::sigaction(kInterrupts[i], &previous_interrupt[i], nullptr);
    interrupt_set[i] = false;
  }
  file_armed.store(false);
  dir_armed.store(false);
}

void FaultGuard::removes(std::string_view file, std::string_view dir) {
  file_armed.store(false);
  dir_armed.store(false);
  copy(file_path, sizeof file_path, file);
  copy(dir_path, sizeof dir_path, dir);
}

void FaultGuard::arm_file(bool armed) { file_armed.store(armed && file_path[0] != '\0'); }

void FaultGuard::arm_dir(bool armed) { dir_armed.store(armed && dir_path[0] != '\0'); }

}  // namespace recsys::util
