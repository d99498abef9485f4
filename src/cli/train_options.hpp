// Options shared by `recsys train` and `recsys evaluate`: model parameters and
// the hold-out split, registered on a CLI11 subcommand and validated into the
// model and data types (bad values are UsageErrors: exit code 2).
#pragma once

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdint>
#include <set>
#include <string>

#include "data/import.hpp"
#include "data/split.hpp"
#include "model/params.hpp"

namespace recsys::cli {

struct ModelOptions {
  std::string family = "als";  // --model: als or ease
  std::string feedback = "implicit";
  std::string confidence = "log";
  bool confidence_given = false;  // EASE's default is binary, not log
  std::string solver = "cg";
  std::uint32_t factors = 64;
  std::uint32_t iterations = 15;
  double regularization = std::nan("");  // NaN: the default for the feedback kind
  double alpha = std::nan("");           // NaN: the default for the confidence kind
  double user_norm = 0;                  // --user-norm (implicit ALS; 0 = off)
  bool nonnegative = false;
  std::uint64_t seed = 42;
  // Options set by the command line, environment or config file (names without
  // "--"); the others may take stored tuned defaults (cli/tuned_defaults.hpp).
  std::set<std::string> given;
};

struct SplitOptions {
  std::string kind_name = "stratified";
  data::SplitKind kind = data::SplitKind::Stratified;
  double test_fraction = 0.25;
  std::size_t k = 10;
};

void add_model_options(CLI::App& sub, ModelOptions& options);
void add_split_options(CLI::App& sub, SplitOptions& options);
// Records in options.given which model options `sub` received (call after parsing).
void note_given_options(const CLI::App& sub, ModelOptions& options);

// Validated, resolved parameters (defaults filled in); throws UsageError.
model::ModelParams resolve_model_options(const ModelOptions& options);
// Throws UsageError for a test fraction outside (0, 1) or k = 0; sets options.kind.
void check_split_options(SplitOptions& options);

}  // namespace recsys::cli
