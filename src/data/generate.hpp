// Synthetic ratings or play counts (recsys generate) for benchmarks and tests when
// no public data of the wanted size is at hand. The planted structure is
// learnable: users prefer a few of kGenres latent genres, which decides both
// WHICH items they rate (so implicit ALS beats popularity) and HOW they rate
// them (so explicit ALS beats the mean). Details in docs/data.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace recsys::data {

// What the third column holds: 1–5 stars, or play counts (positive integers
// with a heavy tail, like listening histories) from the same latent tastes.
enum class GeneratedValues { Stars, Counts };

struct GenerateOptions {
  std::uint32_t users = 1000;
  std::uint32_t items = 500;
  std::uint64_t ratings = 20000;
  std::uint64_t seed = 42;
  GeneratedValues values = GeneratedValues::Stars;
  unsigned threads = 1;  // the output does not depend on it
};

// Validates the sizes; throws UsageError with the reason.
void check_generate_options(const GenerateOptions& options);

// Writes the CSV (header "user,item,rating,timestamp" or, for counts,
// "user,item,plays,timestamp", then exactly
// options.ratings rows grouped by user, no repeated (user, item) pair) as a
// sequence of blocks passed to `write`, in order.
void generate_ratings(const GenerateOptions& options, const std::function<void(std::string_view)>& write);

}  // namespace recsys::data
