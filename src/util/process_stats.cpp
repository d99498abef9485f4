#include "util/process_stats.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace recsys::util {

namespace {

std::optional<std::string> read_text(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Seconds since 1970 at which the system booted (/proc/stat's btime).
std::optional<std::uint64_t> boot_time() {
  auto text = read_text("/proc/stat");
  if (!text) return std::nullopt;
  std::istringstream lines(*text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("btime ", 0) == 0) {
      std::uint64_t v = 0;
      auto [p, ec] = std::from_chars(line.data() + 6, line.data() + line.size(), v);
      if (ec == std::errc()) return v;
    }
  }
  return std::nullopt;
}

// Entries of /proc/self/fd, less the descriptor that reads the directory.
std::uint64_t count_open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return 0;
  std::uint64_t n = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n > 0 ? n - 1 : 0;
}

}  // namespace

std::optional<ProcessStats> process_stats() {
  auto stat = read_text("/proc/self/stat");
  if (!stat) return std::nullopt;
  // Fields after the command name, which is in parentheses and may hold
  // spaces and parentheses itself: the last ')' ends it (proc(5)).
  const auto close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat->substr(close + 1));
  std::vector<std::string> fields{std::istream_iterator<std::string>(rest), std::istream_iterator<std::string>()};
  // proc(5) numbers fields from 1, the state (3) first after the name:
  // utime 14, stime 15, starttime 22, vsize 23, rss 24 (pages).
  auto field = [&](std::size_t number) -> std::uint64_t {
    const std::size_t i = number - 3;
    if (i >= fields.size()) return 0;
    std::uint64_t v = 0;
    std::from_chars(fields[i].data(), fields[i].data() + fields[i].size(), v);
    return v;
  };
  const long ticks = ::sysconf(_SC_CLK_TCK);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (ticks <= 0 || page <= 0 || fields.size() < 22) return std::nullopt;
  ProcessStats out;
  out.cpu_seconds = static_cast<double>(field(14) + field(15)) / static_cast<double>(ticks);
  out.virtual_bytes = field(23);
  out.resident_bytes = field(24) * static_cast<std::uint64_t>(page);
  if (auto boot = boot_time()) {
    out.start_time_seconds = static_cast<double>(*boot) + static_cast<double>(field(22)) / static_cast<double>(ticks);
  }
  out.open_fds = count_open_fds();
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    out.max_fds = limit.rlim_cur == RLIM_INFINITY ? 0 : static_cast<std::uint64_t>(limit.rlim_cur);
  }
  return out;
}

}  // namespace recsys::util
