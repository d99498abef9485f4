#include "data/split.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "util/random.hpp"

namespace recsys::data {

namespace {

// Python's round(): half to even (the default floating-point rounding mode).
std::size_t train_count(std::size_t n, double test_fraction) {
  auto k = static_cast<std::size_t>(std::nearbyint((1.0 - test_fraction) * static_cast<double>(n)));
  return std::clamp<std::size_t>(k, n == 0 ? 0 : 1, n);
}

// Rating positions grouped by user (a counting sort that keeps input order).
std::vector<std::size_t> group_by_user(const RatingTable& t, std::vector<std::size_t>& offsets) {
  offsets.assign(static_cast<std::size_t>(t.n_users) + 1, 0);
  for (auto u : t.users) {
    if (u >= t.n_users) throw std::out_of_range(fmt::format("user index {} outside {} users", u, t.n_users));
    ++offsets[u + 1];
  }
  std::partial_sum(offsets.begin(), offsets.end(), offsets.begin());
  std::vector<std::size_t> order(t.size());
  std::vector<std::size_t> next(offsets.begin(), offsets.end() - 1);
  for (std::size_t j = 0; j < t.size(); ++j) order[next[t.users[j]]++] = j;
  return order;
}

// A table may come without timestamps (dropped to save memory): all 0 then.
std::int64_t timestamp(const RatingTable& t, std::size_t j) { return t.timestamps.empty() ? 0 : t.timestamps[j]; }

template <typename It>
void shuffle(It first, It last, SplitMix& rng) {  // Fisher-Yates
  for (auto n = static_cast<std::uint64_t>(last - first); n > 1; --n) std::swap(first[n - 1], first[rng.below(n)]);
}

Split take(const RatingTable& all, const std::vector<char>& in_test) {
  Split s;
  s.train.n_users = s.test.n_users = all.n_users;
  s.train.n_items = s.test.n_items = all.n_items;
  std::size_t n_test = static_cast<std::size_t>(std::count(in_test.begin(), in_test.end(), 1));
  s.train.reserve(all.size() - n_test);
  s.test.reserve(n_test);
  for (std::size_t j = 0; j < all.size(); ++j)
    (in_test[j] ? s.test : s.train).push_back(all.users[j], all.items[j], all.values[j], timestamp(all, j));
  return s;
}

}  // namespace

std::string_view to_string(SplitKind k) {
  switch (k) {
    case SplitKind::Stratified: return "stratified";
    case SplitKind::Random: return "random";
    case SplitKind::Chrono: return "chrono";
    case SplitKind::None: return "none";
  }
  return "none";
}

SplitKind split_kind_from_string(std::string_view s) {
  if (s == "stratified") return SplitKind::Stratified;
  if (s == "random") return SplitKind::Random;
  if (s == "chrono") return SplitKind::Chrono;
  if (s == "none") return SplitKind::None;
  throw std::invalid_argument(fmt::format("unknown split '{}' (stratified, random, chrono or none)", s));
}

Split split_ratings(const RatingTable& all, SplitKind kind, double test_fraction, std::uint64_t seed) {
  if (kind != SplitKind::None && !(test_fraction > 0.0 && test_fraction < 1.0))
    throw std::invalid_argument(fmt::format("test fraction must be between 0 and 1 (got {})", test_fraction));
  std::vector<char> in_test(all.size(), 0);
  bool untimed = false;
  if (kind == SplitKind::Chrono) {
    untimed = std::all_of(all.timestamps.begin(), all.timestamps.end(),
                          [&](std::int64_t t) { return t == all.timestamps.front(); });
  }
  if (kind == SplitKind::Random) {
    std::vector<std::size_t> order(all.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    SplitMix rng(seed, 0x5eed);
    shuffle(order.begin(), order.end(), rng);
    for (std::size_t j = train_count(all.size(), test_fraction); j < order.size(); ++j) in_test[order[j]] = 1;
  } else if (kind != SplitKind::None) {
    std::vector<std::size_t> offsets;
    std::vector<std::size_t> order = group_by_user(all, offsets);
    for (std::uint32_t u = 0; u < all.n_users; ++u) {
      auto first = order.begin() + static_cast<std::ptrdiff_t>(offsets[u]);
      auto last = order.begin() + static_cast<std::ptrdiff_t>(offsets[u + 1]);
      if (kind == SplitKind::Stratified) {
        SplitMix rng(seed, u);  // one stream per user: independent of the other users
        shuffle(first, last, rng);
      } else {  // chrono: oldest first, ties in input order
        std::stable_sort(first, last, [&](std::size_t a, std::size_t b) { return timestamp(all, a) < timestamp(all, b); });
      }
      for (auto it = first + static_cast<std::ptrdiff_t>(train_count(offsets[u + 1] - offsets[u], test_fraction));
           it != last; ++it)
        in_test[*it] = 1;
    }
  }
  Split s = take(all, in_test);
  s.untimed = untimed;
  return s;
}

}  // namespace recsys::data
