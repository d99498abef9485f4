// Counter-based random numbers for reproducible runs: splitmix64 (Steele, Lea &
// Flood 2014). Seeding a stream per (seed, row) makes results independent of
// how work is spread over threads.
#pragma once

#include <cstdint>

namespace recsys {

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A small generator: the splitmix64 sequence from a seed mixed with a stream id.
class SplitMix {
 public:
  explicit SplitMix(std::uint64_t seed, std::uint64_t stream = 0) : state_(seed ^ splitmix64(stream)) {}
  std::uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ull;
    return splitmix64(state_);
  }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; bias < n / 2^64).
  std::uint64_t below(std::uint64_t n) {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }

 private:
  std::uint64_t state_;
};

}  // namespace recsys
