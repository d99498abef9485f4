// The process's own figures, as Prometheus client libraries export them
// (https://prometheus.io/docs/instrumenting/writing_clientlibs/#process-metrics),
// read from /proc/self on each call: /metrics of a server that runs for
// months tells its memory, CPU and descriptors without a node exporter.
#pragma once

#include <cstdint>
#include <optional>

namespace recsys::util {

struct ProcessStats {
  double cpu_seconds = 0;             // user + system time
  std::uint64_t resident_bytes = 0;   // resident set size
  std::uint64_t virtual_bytes = 0;    // address space, the memory-mapped database included
  std::uint64_t open_fds = 0;         // open file descriptors
  std::uint64_t max_fds = 0;          // RLIMIT_NOFILE's soft limit
  double start_time_seconds = 0;      // since 1970
};

// Empty when /proc is not mounted or unreadable.
std::optional<ProcessStats> process_stats();

}  // namespace recsys::util
