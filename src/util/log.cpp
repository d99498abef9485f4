#include "util/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include <cstdlib>
#include <ctime>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>

namespace recsys::log {

namespace {
// sd-daemon(3)'s "<N>" line prefix: the journal stores each line with that
// syslog priority (without one, every line is info and `journalctl -p warning`
// shows not even a failed commit). spdlog levels trace..critical.
class JournalPriority final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr std::string_view kPrefix[] = {"<7>", "<7>", "<6>", "<4>", "<3>", "<2>"};
    const auto level = static_cast<std::size_t>(msg.level);
    if (level < std::size(kPrefix)) dest.append(kPrefix[level].data(), kPrefix[level].data() + kPrefix[level].size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JournalPriority>(); }
};
}  // namespace

bool stderr_is_journal() {
  // systemd sets JOURNAL_STREAM=DEVICE:INODE for the stream it connects to the
  // journal (systemd.exec(5)); a redirect in between gives stderr another one.
  const char* stream = std::getenv("JOURNAL_STREAM");
  struct stat st {};
  if (!stream || fstat(STDERR_FILENO, &st) != 0) return false;
  unsigned long long dev = 0, ino = 0;
  char end = 0;
  if (std::sscanf(stream, "%llu:%llu%c", &dev, &ino, &end) != 2) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

void init(std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  // from_str answers `off` for anything it does not know; only accept `off` when asked for.
  if (parsed == spdlog::level::off && level != "off") {
    throw std::invalid_argument("unknown log level '" + std::string(level) +
                                "' (expected trace, debug, info, warn, error or off)");
  }
  auto logger = spdlog::stderr_logger_mt("recsys");
  spdlog::set_default_logger(logger);
  spdlog::set_level(parsed);
  if (isatty(STDERR_FILENO)) {
    spdlog::set_pattern("%H:%M:%S.%e %^%l%$ %v");
  } else if (stderr_is_journal()) {
    // The journal stamps every line itself; the prefix gives its priority.
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<JournalPriority>('*').set_pattern("%*%l %v");
    spdlog::set_formatter(std::move(formatter));
  } else {
    // A file or a pipe (nohup, a container's log): months later, the date matters.
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  }
  spdlog::flush_on(spdlog::level::warn);
}

const char* error_prefix() {
  static const bool journal = stderr_is_journal();
  return journal ? "<3>" : "";
}

void exit_on_thread_error(std::string_view thread, std::string_view what) {
  spdlog::error("{} thread stopped by an unexpected error: {}; exiting", thread, what);
  spdlog::default_logger()->flush();
  std::_Exit(1);
}

}  // namespace recsys::log
