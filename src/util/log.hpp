// Logging: one line per event on stderr (journald-friendly), level configurable.
// A thin layer over spdlog so that the rest of the code names one header.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace recsys::log {

// Sets up the stderr logger. `level` is one of trace, debug, info, warn, error,
// off; throws std::invalid_argument otherwise. When stderr is not a terminal
// (systemd, pipes) time stamps are left to the collector.
void init(std::string_view level);

// For an exception that escaped a long-running thread (a server worker, the
// events writer): logs it and ends the process with exit code 1 instead of
// std::terminate's abort, so a service manager sees a failure and restarts it.
[[noreturn]] void exit_on_thread_error(std::string_view thread, std::string_view what);

using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::warn;

}  // namespace recsys::log
