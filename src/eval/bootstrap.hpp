// Percentile bootstrap intervals (Efron & Tibshirani 1993, ch. 13) for a mean
// over users: resample the users with replacement, recompute the mean, and
// take the 2.5th and 97.5th percentiles of the resampled means. Used for the
// nDCG and MAP intervals of the evaluation report and by `recsys tune` to
// tell a real gain from noise (paired: the per-user differences of two models).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace recsys::eval {

inline constexpr std::size_t kBootstrapResamples = 1000;
inline constexpr std::uint64_t kBootstrapSeed = 20190513;  // fixed: the same ratings give the same interval

struct Interval {
  double low = 0;
  double high = 0;
  bool contains(double x) const { return low <= x && x <= high; }
};

// The `level` (e.g. 0.95) percentile interval of the mean of `values`.
// Resample b draws values[SplitMix(seed, b).below(n)] n times; the resampled
// means are sorted and the bounds are the order statistics at
// floor(q·(B − 1)) for q = (1 − level)/2 and ceil(q'·(B − 1)) for q' = 1 − q.
// Deterministic for a given seed; an empty input gives [0, 0].
Interval bootstrap_mean(std::span<const double> values, std::size_t resamples = kBootstrapResamples,
                        std::uint64_t seed = kBootstrapSeed, double level = 0.95);

}  // namespace recsys::eval
