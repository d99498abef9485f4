// What `recsys tune` prints: one progress line per trial, the leaderboard
// table, and the leaderboard as JSON (schema: docs/training.md "Tuning").
#pragma once

#include <cstdint>
#include <string>

#include "tune/search.hpp"
#include "tune/validation.hpp"

namespace recsys::cli {

struct TuneRun {
  std::string metric;
  double budget_seconds = 0;
  std::uint64_t seed = 0;
  unsigned threads = 1;
  std::string models;  // "ials,ease"
  std::string prefer;  // "simpler" or "best"
};

std::string trial_line(const tune::TrialResult& r, const std::string& metric, double elapsed);
std::string leaderboard_table(const tune::SearchResult& s, const TuneRun& run);
std::string leaderboard_json(const tune::SearchResult& s, const TuneRun& run, const tune::TuneData& data);

}  // namespace recsys::cli
