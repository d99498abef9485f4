#include "util/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace recsys::log {

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
  } else {
    spdlog::set_pattern("%l %v");
  }
  spdlog::flush_on(spdlog::level::warn);
}

void exit_on_thread_error(std::string_view thread, std::string_view what) {
  spdlog::error("{} thread stopped by an unexpected error: {}; exiting", thread, what);
  spdlog::default_logger()->flush();
  std::_Exit(1);
}

}  // namespace recsys::log
