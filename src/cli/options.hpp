// Options shared by every subcommand, and the way a subcommand registers itself:
// setup_<name>(app, global, run) adds the subcommand and its options to `app` and,
// when it is the one chosen, sets `run` to the action main() calls after parsing.
#pragma once

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>

#include "store/database.hpp"

namespace recsys::cli {

struct GlobalOptions {
  std::string db;                 // --db / RECSYS_DB
  int threads = 0;                // --threads, 0 = all cores
  std::string log_level = "info"; // --log-level
  std::size_t map_size = store::kDefaultMapSize;  // --map-size, bytes
};

using Runner = std::function<void()>;

// Opens the database named by --db; read-only commands require it to exist.
store::Database open_database(const GlobalOptions& global, store::OpenMode mode);

void setup_import(CLI::App& app, const GlobalOptions& global, Runner& run);
void setup_info(CLI::App& app, const GlobalOptions& global, Runner& run);
void setup_train(CLI::App& app, const GlobalOptions& global, Runner& run);
void setup_evaluate(CLI::App& app, const GlobalOptions& global, Runner& run);
void setup_generate(CLI::App& app, const GlobalOptions& global, Runner& run);
void setup_backup(CLI::App& app, const GlobalOptions& global, Runner& run);
void setup_import_factors(CLI::App& app, const GlobalOptions& global, Runner& run);
void setup_precompute(CLI::App& app, const GlobalOptions& global, Runner& run);
void setup_recommend(CLI::App& app, const GlobalOptions& global, Runner& run);
void setup_similar(CLI::App& app, const GlobalOptions& global, Runner& run);
void setup_serve(CLI::App& app, const GlobalOptions& global, Runner& run);
void setup_models(CLI::App& app, const GlobalOptions& global, Runner& run);
void setup_check(CLI::App& app, const GlobalOptions& global, Runner& run);
void setup_tune(CLI::App& app, const GlobalOptions& global, Runner& run);
void setup_items(CLI::App& app, const GlobalOptions& global, Runner& run);

// CLI11's PositiveNumber and NonNegativeNumber with messages a person can
// read (theirs print the accepted range up to 1.8e308 in full digits).
inline CLI::Validator number_check(bool zero_allowed) {
  return CLI::Validator(
      [zero_allowed](std::string& value) -> std::string {
        char* end = nullptr;
        const double x = std::strtod(value.c_str(), &end);
        if (end == value.c_str() || *end != '\0') return "must be a number (got " + value + ")";
        // nan, inf and what overflows a double (1e999): not a setting, and NaN
        // would read as "not given" where NaN is that sentinel.
        if (!std::isfinite(x)) return "must be a finite number (got " + value + ")";
        // The settings are stored as float: 1e39 would become infinity there
        // (import-factors stored λ = inf and fold-in used another value).
        if (std::fabs(x) > std::numeric_limits<float>::max())
          return "must be within ±3.4e38, float's range (got " + value + ")";
        if (x != 0 && static_cast<float>(x) == 0)
          return "is too small for a float: it would be 0 (got " + value + ")";
        if (x > 0 || (zero_allowed && x == 0)) return {};
        return std::string(zero_allowed ? "must not be negative" : "must be positive") + " (got " + value + ")";
      },
      zero_allowed ? "NONNEGATIVE" : "POSITIVE", zero_allowed ? "non-negative" : "positive");
}
inline const CLI::Validator kPositive = number_check(false);
inline const CLI::Validator kNonNegative = number_check(true);

}  // namespace recsys::cli
