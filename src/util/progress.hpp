// Progress of long work: a redrawn status line on a terminal (phase, done/total,
// extra text such as the loss, elapsed, ETA), plain log lines otherwise.
#pragma once

#include <cstdint>
#include <string>

#include "util/timer.hpp"

namespace recsys {

class Progress {
 public:
  // `total` may be 0 when unknown (no percentage or ETA then).
  Progress(std::string phase, std::uint64_t total, std::string unit = "");
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Reports `done` units; redraws at most ~10 times a second on a terminal and
  // logs at most every `log_interval` seconds otherwise (force = always).
  void update(std::uint64_t done, const std::string& extra = "", bool force = false);
  // Ends the line on a terminal; logs the final state.
  void finish(const std::string& extra = "");

  double elapsed() const { return timer_.seconds(); }

 private:
  std::string render(std::uint64_t done, const std::string& extra) const;

  std::string phase_;
  std::string unit_;
  std::uint64_t total_;
  bool tty_;
  bool finished_ = false;
  bool drawn_ = false;
  double last_draw_ = -1.0;
  double log_interval_ = 5.0;
  Timer timer_;
};

}  // namespace recsys
