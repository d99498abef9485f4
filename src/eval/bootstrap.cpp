#include "eval/bootstrap.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "util/random.hpp"

namespace recsys::eval {

Interval bootstrap_mean(std::span<const double> values, std::size_t resamples, std::uint64_t seed, double level) {
  Interval out;
  const std::size_t n = values.size();
  if (n == 0 || resamples == 0) return out;
  std::vector<double> means(resamples);
  for (std::size_t b = 0; b < resamples; ++b) {
    SplitMix rng(seed, b);  // one stream per resample: independent of anything else drawn
    double sum = 0;
    for (std::size_t j = 0; j < n; ++j) sum += values[rng.below(n)];
    means[b] = sum / static_cast<double>(n);
  }
  std::sort(means.begin(), means.end());
  const double q = (1.0 - level) / 2.0;
  const double last = static_cast<double>(resamples - 1);
  out.low = means[static_cast<std::size_t>(std::floor(q * last))];
  out.high = means[static_cast<std::size_t>(std::ceil((1.0 - q) * last))];
  return out;
}

}  // namespace recsys::eval
