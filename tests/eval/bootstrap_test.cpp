// Bootstrap intervals for the evaluation report (eval/bootstrap.hpp).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "eval/bootstrap.hpp"
#include "eval/evaluate.hpp"
#include "util/random.hpp"

using recsys::eval::bootstrap_mean;

namespace {

// Per-user nDCG-like values in [0, 1]: a skewed distribution, as real ones are.
std::vector<double> user_values(std::size_t n, std::uint64_t seed) {
  recsys::SplitMix rng(seed);
  std::vector<double> v(n);
  for (auto& x : v) x = std::pow(rng.uniform(), 2.0);
  return v;
}

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); }

}  // namespace

TEST_CASE("the bootstrap interval contains the mean and shrinks with more users") {
  auto small = user_values(100, 1);
  auto large = user_values(2500, 1);
  auto a = bootstrap_mean(small);
  auto b = bootstrap_mean(large);
  CHECK(a.contains(mean(small)));
  CHECK(b.contains(mean(large)));
  CHECK(a.low < a.high);
  // The width goes as 1/√n: 25 times the users, about a fifth of the width.
  const double ratio = (b.high - b.low) / (a.high - a.low);
  CHECK(ratio > 0.12);
  CHECK(ratio < 0.3);
  // Deterministic for a seed, different for another.
  auto again = bootstrap_mean(small);
  CHECK(again.low == a.low);
  CHECK(again.high == a.high);
  auto other = bootstrap_mean(small, 1000, 7);
  CHECK((other.low != a.low || other.high != a.high));
}

TEST_CASE("the bootstrap interval matches an independent percentile bootstrap") {
  // The textbook percentile bootstrap, with another generator and many more
  // resamples: the two intervals agree to within sampling error of the bounds.
  auto values = user_values(400, 9);
  std::mt19937_64 gen(12345);
  std::uniform_int_distribution<std::size_t> pick(0, values.size() - 1);
  const std::size_t resamples = 20000;
  std::vector<double> means(resamples);
  for (auto& m : means) {
    double s = 0;
    for (std::size_t j = 0; j < values.size(); ++j) s += values[pick(gen)];
    m = s / static_cast<double>(values.size());
  }
  std::sort(means.begin(), means.end());
  const double low = means[static_cast<std::size_t>(0.025 * (resamples - 1))];
  const double high = means[static_cast<std::size_t>(std::ceil(0.975 * (resamples - 1)))];
  auto ours = bootstrap_mean(values);
  const double width = high - low;
  CHECK(std::abs(ours.low - low) < 0.05 * width);
  CHECK(std::abs(ours.high - high) < 0.05 * width);
  // And the normal approximation: mean ± 1.96 s/√n.
  double var = 0;
  for (double x : values) var += (x - mean(values)) * (x - mean(values));
  const double se = std::sqrt(var / static_cast<double>(values.size() - 1) / static_cast<double>(values.size()));
  CHECK(std::abs(width - 2 * 1.96 * se) < 0.1 * width);
}

TEST_CASE("the bootstrap of a constant or of nothing is a point") {
  std::vector<double> same(50, 0.25);
  auto c = bootstrap_mean(same);
  CHECK(c.low == 0.25);
  CHECK(c.high == 0.25);
  auto e = bootstrap_mean(std::vector<double>{});
  CHECK(e.low == 0);
  CHECK(e.high == 0);
}
