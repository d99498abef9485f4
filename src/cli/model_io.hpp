// Model generations as the CLI reads and writes them: the description JSON
// (parameters, sizes, timing, metrics; docs/storage.md "Models") and the factor
// matrices, through store/models.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "eval/evaluate.hpp"
#include "model/als.hpp"
#include "model/params.hpp"
#include "store/database.hpp"

namespace recsys::cli {

// What a description records besides the parameters.
struct TrainSummary {
  std::uint32_t users = 0;
  std::uint32_t items = 0;
  std::uint64_t ratings = 0;       // ratings the stored factors were fitted on
  double train_seconds = 0;        // the whole train command (split, fits, evaluation)
  double final_loss = 0;           // the whole objective of the last fit; NaN when not computed
  std::string split = "none";      // how the evaluation split was made
  double test_fraction = 0;
  bool refit = false;              // factors fitted on all ratings after the evaluation
  std::string curve;               // eval::curve_json of the evaluation fit; empty: none
  std::string data;                // eval::data_stats_json of all ratings; empty: none
};

// The description JSON: the parameters at the top level (params_from_json reads
// it back directly), then the summary, "trained_at" (ISO 8601 UTC), and when an
// evaluation ran "metrics", "baseline" and "evaluation"; then "curve" and
// "data" when the summary has them (docs/dashboard.md).
std::string describe_model(const model::ModelParams& params, const TrainSummary& summary,
                           const eval::EvalReport* report);

// Stores a new generation (description + factors) in one write transaction;
// with keep > 0 the same transaction deletes all but the `keep` newest
// generations (never the serving one), whose numbers land in `deleted`.
// `fingerprints`: the users' ratings the factors were fitted on
// (store/models.hpp), given when the fit saw every stored rating.
std::uint32_t store_model(store::Database& db, const std::string& description, const model::Factors& factors,
                          std::size_t keep = 0, std::vector<std::uint32_t>* deleted = nullptr,
                          std::span<const std::uint64_t> fingerprints = {});

struct StoredModel {
  std::uint32_t generation = 0;
  std::string description;
  model::ModelParams params;
  model::Factors factors;
};

// The given generation, or the latest one; throws when there is none.
StoredModel load_model(store::Database& db, std::optional<std::uint32_t> generation);

}  // namespace recsys::cli
