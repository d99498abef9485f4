// What a tuning trial tries: a model family and its settings. The families
// share one struct so that the search, the leaderboard and the stored defaults
// handle them alike; each family reads only its own fields.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "model/params.hpp"
#include "util/random.hpp"

namespace recsys::tune {

enum class Family { Ials, Ease };

std::string_view to_string(Family f);
// "ials" or "ease"; throws std::invalid_argument otherwise.
Family family_from_string(std::string_view s);

struct Settings {
  Family family = Family::Ials;
  // iALS: factors, regularization λ, alpha α, confidence; iterations is the
  // fidelity a trial was evaluated at. EASE: regularization is its λ.
  std::uint32_t factors = 64;
  float regularization = 50.0f;
  float alpha = 10.0f;
  model::Confidence confidence = model::Confidence::Log;
  float user_norm = 0.0f;  // iALS: the per-user confidence exponent (model/params.hpp)
  std::uint32_t iterations = 15;

  bool operator==(const Settings&) const = default;
};

// The built-in defaults (model/params.cpp), always the first candidate so a
// tuned result is never worse than the defaults on the validation part.
Settings default_ials();

// The most factors the search tries (and a stored setting may have).
inline constexpr std::uint32_t kSearchMaxFactors = 512;

// The most factors worth a trial on data with `users` users and `items`
// items that have ratings: the smaller count rounded up to a multiple of 8,
// at most kSearchMaxFactors. The scores X·Yᵀ have rank at most the smaller
// count whatever the factors, and with iALS's penalty λ(‖X‖² + ‖Y‖²) the
// objective's minimum is the same for every factor count from there on (the
// least penalty for given scores is then 2λ times their nuclear norm: Srebro,
// Rennie & Jaakkola, NIPS 2004): more factors add no capacity, only time (f² per CG
// step; 512 factors on 48 items was most of a small tune). Binds only on
// small data: ML-100k's ceiling is 512 (943 users).
std::uint32_t factor_ceiling(std::size_t users, std::size_t items);

// One random iALS candidate (log-uniform λ and α, factors from a fixed list
// and at most `max_factors`, user norm 0: the search tries it last, around
// the best).
Settings sample_ials(SplitMix& rng, std::uint32_t max_factors);
// EASE on binary input with this λ (its only setting).
Settings ease_settings(float lambda);
// One random EASE λ (log-uniform).
Settings sample_ease(SplitMix& rng);

// Refinement moves: λ, α, factors (at most `max_factors`) and iterations
// each times and divided by `step`, one at a time; the confidence kind and
// the user norm are kept.
std::vector<Settings> neighbours(const Settings& s, double step, std::uint32_t max_factors);

// The candidates the search's last stage (search.cpp, confirmation) makes of
// a chosen setting: iALS with its factors and twice them, its iterations and
// twice them, and its user norm, 0.25 and 0.5 (at most 12, `s` first; the
// doubles capped at the search's ceilings, `max_factors` and 60, and never
// below the choice's own); EASE just itself. Fits on more data than the
// search's trials favour all three (docs/training.md).
std::vector<Settings> confirmation_variants(const Settings& s, std::uint32_t max_factors);

// For a confirmation that does not fit the budget whole: removes from
// `candidates` the iALS settings of the highest `cost` (the earlier of equals
// first), one at a time, until `fits(candidates)` holds or only settings in
// `kept` and EASE are left. Returns those removed, in order.
std::vector<Settings> leave_out_costliest(std::vector<Settings>& candidates, const std::vector<Settings>& kept,
                                          const std::function<double(const Settings&)>& cost,
                                          const std::function<bool(const std::vector<Settings>&)>& fits);

// "Simpler" for the tie rule (docs/training.md "Tuning"): EASE (one setting,
// closed form) before iALS, then fewer factors, fewer than the defaults' 64
// counting as 64 (the defaults are the reference; a smaller model earns no
// preference over them). Iterations and the user norm do not count: they
// change training time and weights, not model size.
bool simpler(const Settings& a, const Settings& b);

// Same settings apart from the fidelity (iterations).
bool same_model(const Settings& a, const Settings& b);

// "factors 128, regularization 40, alpha 8, confidence log, user norm 0.25, iterations 15" / "lambda 200".
std::string describe(const Settings& s);
// {"family":"ials","factors":…,"regularization":…,"alpha":…,"confidence":"log","user_norm":…,"iterations":…}
std::string settings_json(const Settings& s);
// Reads settings_json's output (unknown keys ignored); throws std::runtime_error.
Settings settings_from_json(std::string_view json);

}  // namespace recsys::tune
