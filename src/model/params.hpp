// Model parameters: what `recsys train` fits and what a stored generation
// records (so fold-in and evaluation reuse exactly the training settings).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace recsys::model {

enum class Feedback { Implicit, Explicit };
// How a stored value r becomes implicit confidence 1 + alpha * f(r).
enum class Confidence { Linear, Log, Binary };
enum class Solver { ConjugateGradient, Cholesky };
// Model family: ALS factors, or EASE's items × items weights (model/ease.hpp).
enum class Family { Als, Ease };

// The widest model: `train --factors` and `import-factors` rows stop here.
inline constexpr std::uint32_t kMaxFactors = 4096;
// The largest factor magnitude `import-factors` accepts. Scores are float dot
// products of two rows, and fold-in sums the item Gram matrix YᵀY over every
// item in float: with |x| ≤ 1e12 a score is at most 4096 · 1e24 ≈ 4.1e27 and a
// Gram entry at most 2³² items · 1e24 ≈ 4.3e33, both below FLT_MAX ≈ 3.4e38
// (with room for fold-in's confidence weights). Larger values overflow to inf
// and NaN, and the lists come out empty. Trained factors are far smaller
// (|x| of order 1 for regularised ALS).
inline constexpr float kMaxFactorMagnitude = 1e12f;

struct ModelParams {
  Family family = Family::Als;
  Feedback feedback = Feedback::Implicit;
  Confidence confidence = Confidence::Log;
  Solver solver = Solver::ConjugateGradient;
  std::uint32_t factors = 64;
  std::uint32_t iterations = 15;
  float regularization = 0.0f;  // 0: the default for the feedback kind (see als.cpp)
  float alpha = 0.0f;           // 0: the default for the confidence kind
  bool nonnegative = false;
  std::uint64_t seed = 42;
  std::uint32_t cg_steps = 3;
  // Log confidence f(r) = log(1 + r/epsilon); 0 until resolve_for_data sets it
  // to the median stored value, so that f does not depend on the unit of r.
  float epsilon = 0.0f;
  // ALS-WR (Zhou et al. 2008) for implicit feedback too, as Spark MLlib: each
  // user's λ is multiplied by their number of positive ratings. Set for models
  // imported from Spark, so fold-in solves the system Spark solved; explicit
  // models always scale λ this way (row_solver.hpp).
  bool weighted_lambda = false;
  // Implicit ALS: each user's confidence excess alpha·f(r) is multiplied by
  // (mean_user_ratings / n_u)^user_norm, n_u being the user's number of ratings
  // in the fitted data, so that heavy users do not dominate the item factors
  // while every user counts alike in the ranking metrics (docs/training.md
  // "Per-user confidence"). 0 = off, the default: `recsys tune` searches it.
  float user_norm = 0.0f;
  // n̄ above: the mean ratings per user (users with at least one) of the data
  // the stored factors were fitted on; fold-in scales a user's weights with it.
  float mean_user_ratings = 0.0f;
};

// The factor (mean_user_ratings / ratings)^user_norm for a user with `ratings`
// ratings; 1 when the normalisation is off or either count is 0.
float user_confidence_scale(const ModelParams& p, double mean_user_ratings, std::size_t ratings);

std::string_view to_string(Feedback f);
std::string_view to_string(Confidence c);
std::string_view to_string(Solver s);
// The name stored as "model" and shown by info and /v1/model: "ials",
// "als-explicit" or "ease".
std::string_view family_name(const ModelParams& p);

// A model trained elsewhere and stored by import-factors: 0 iterations here,
// and Spark's weighted λ (GET /v1/model shows it without the solver it never
// used; its fallback ranks the items nobody rated here after the rated ones).
inline bool imported_model(const ModelParams& p) {
  return p.family != Family::Ease && p.iterations == 0 && p.weighted_lambda;
}
// Parse the names above; throw std::invalid_argument on anything else.
Feedback feedback_from_string(std::string_view s);
Confidence confidence_from_string(std::string_view s);
Solver solver_from_string(std::string_view s);

// `p` with the 0 ("default") regularization and alpha replaced by the defaults
// for its feedback and confidence kind (chosen in docs/training.md).
ModelParams resolve_params(ModelParams p);
// The data-dependent parameter: for log confidence, epsilon 0 replaced by the
// median of the positive `values` (1 when there are none; deterministic, a
// fixed stride sample for large inputs).
ModelParams resolve_for_data(ModelParams p, std::span<const float> values);
// Throws UsageError when a parameter is out of range (factors 0, negative
// regularization or alpha, iterations 0, cg_steps 0).
void validate_params(const ModelParams& p);

// The parameters as a JSON object, and back (unknown keys ignored; throws on a
// malformed document).
std::string params_to_json(const ModelParams& p);
ModelParams params_from_json(std::string_view json);

}  // namespace recsys::model
