// Logging: one line per event on stderr (journald-friendly), level configurable.
// A thin layer over spdlog so that the rest of the code names one header.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace recsys::log {

// Sets up the stderr logger. `level` is one of trace, debug, info, warn, error,
// off; throws std::invalid_argument otherwise. Lines start with the time of
// day on a terminal, with nothing when stderr is the journal (it stamps lines
// itself), and with the date and time (ISO 8601, local offset) otherwise: a
// file, a pipe, a container's log.
void init(std::string_view level);

// Whether stderr is the stream systemd connected to the journal (JOURNAL_STREAM).
// There each log line starts with its syslog priority ("<4>" for a warning,
// sd-daemon(3)), which the journal stores and strips.
bool stderr_is_journal();

// "<3>" (error priority) when stderr is the journal, else empty: for the
// "recsys: error: ..." line a failed command prints outside the logger.
const char* error_prefix();

// For an exception that escaped a long-running thread (a server worker, the
// events writer): logs it and ends the process with exit code 1 instead of
// std::terminate's abort, so a service manager sees a failure and restarts it.
[[noreturn]] void exit_on_thread_error(std::string_view thread, std::string_view what);

using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::warn;

}  // namespace recsys::log
