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

using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::warn;

}  // namespace recsys::log
