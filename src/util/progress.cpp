#include "util/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

#include "util/log.hpp"

namespace recsys {

namespace {
std::string format_duration(double s) {
  if (s < 60) return fmt::format("{:.1f}s", s);
  auto total = static_cast<long>(s);
  if (total < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}h{:02}m", total / 3600, (total % 3600) / 60);
}
}  // namespace

Progress::Progress(std::string phase, std::uint64_t total, std::string unit)
    : phase_(std::move(phase)), unit_(std::move(unit)), total_(total), tty_(isatty(STDERR_FILENO)) {}

Progress::~Progress() {
  if (!finished_ && tty_ && drawn_) std::fputs("\n", stderr);
}

std::string Progress::render(std::uint64_t done, const std::string& extra) const {
  double t = timer_.seconds();
  std::string line = phase_;
  if (total_ > 0) {
    line += fmt::format(" {}/{}{}{} ({:.0f}%)", done, total_, unit_.empty() ? "" : " ", unit_,
                        100.0 * static_cast<double>(done) / static_cast<double>(total_));
  } else if (done > 0) {
    line += fmt::format(" {}{}{}", done, unit_.empty() ? "" : " ", unit_);
  }
  if (!extra.empty()) line += "  " + extra;
  line += "  elapsed " + format_duration(t);
  if (total_ > 0 && done > 0 && done < total_) {
    double eta = t * static_cast<double>(total_ - done) / static_cast<double>(done);
    line += "  ETA " + format_duration(eta);
  }
  return line;
}

void Progress::update(std::uint64_t done, const std::string& extra, bool force) {
  double t = timer_.seconds();
  if (tty_) {
    if (!force && last_draw_ >= 0 && t - last_draw_ < 0.1) return;
    last_draw_ = t;
    std::fprintf(stderr, "\r\033[K%s", render(done, extra).c_str());
    std::fflush(stderr);
    drawn_ = true;
  } else {
    if (!force && last_draw_ >= 0 && t - last_draw_ < log_interval_) return;
    if (!force && last_draw_ < 0 && t < log_interval_) return;
    last_draw_ = t;
    log::info("{}", render(done, extra));
  }
}

void Progress::finish(const std::string& extra) {
  if (finished_) return;
  finished_ = true;
  if (tty_) {
    if (drawn_) std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }
  std::string line = phase_ + " done";
  if (!extra.empty()) line += "  " + extra;
  line += "  in " + format_duration(timer_.seconds());
  log::info("{}", line);
}

}  // namespace recsys
