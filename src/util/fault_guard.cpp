#include "util/fault_guard.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace recsys::util {

namespace {

constexpr std::array<int, 3> kSignals{SIGSEGV, SIGBUS, SIGABRT};
// Written before the handlers are installed and read only by them; one guard at a time.
char message_text[1024];
char file_path[4096];
char dir_path[4096];
std::size_t message_length = 0;
struct sigaction previous[kSignals.size()];

void copy(char* out, std::size_t size, std::string_view in) {
  const std::size_t n = std::min(in.size(), size - 1);
  if (n > 0) std::memcpy(out, in.data(), n);  // an empty view's data() may be null
  out[n] = '\0';
}

void on_fault(int) {
  if (file_path[0] != '\0') ::unlink(file_path);
  if (dir_path[0] != '\0') ::rmdir(dir_path);
  [[maybe_unused]] ssize_t written = ::write(STDERR_FILENO, message_text, message_length);
  ::_exit(1);
}

}  // namespace

FaultGuard::FaultGuard(std::string_view message, std::string_view remove_file, std::string_view remove_dir) {
  copy(message_text, sizeof message_text, message);
  message_length = std::strlen(message_text);
  copy(file_path, sizeof file_path, remove_file);
  copy(dir_path, sizeof dir_path, remove_dir);
  struct sigaction action {};
  action.sa_handler = on_fault;
  sigemptyset(&action.sa_mask);
  for (std::size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &action, &previous[i]);
}

FaultGuard::~FaultGuard() {
  for (std::size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &previous[i], nullptr);
}

}  // namespace recsys::util
