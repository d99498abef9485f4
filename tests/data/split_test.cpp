// Hold-out splits: per-user fractions, nobody lost from train, determinism,
// chronological order.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <tuple>

#include "data/split.hpp"

using namespace recsys::data;

namespace {

// User u has `sizes[u]` ratings, items 0.., timestamps descending in input order.
RatingTable table(const std::vector<std::uint32_t>& sizes) {
  RatingTable t;
  t.n_users = static_cast<std::uint32_t>(sizes.size());
  t.n_items = 100;
  for (std::uint32_t u = 0; u < sizes.size(); ++u)
    for (std::uint32_t i = 0; i < sizes[u]; ++i) t.push_back(u, i, 1.0f + static_cast<float>(i % 5), 1000 - i);
  return t;
}

std::map<std::uint32_t, std::size_t> per_user(const RatingTable& t) {
  std::map<std::uint32_t, std::size_t> n;
  for (auto u : t.users) ++n[u];
  return n;
}

}  // namespace

TEST_CASE("stratified split keeps round(75%) of each user's ratings in train") {
  // Python's round: 0.75·2 = 1.5 -> 2, 0.75·6 = 4.5 -> 4 (ties to even).
  auto t = table({1, 2, 4, 6, 8, 20});
  auto s = split_ratings(t, SplitKind::Stratified, 0.25, 42);
  auto train = per_user(s.train);
  CHECK(train[0] == 1);  // a single rating stays in train
  CHECK(train[1] == 2);
  CHECK(train[2] == 3);
  CHECK(train[3] == 4);
  CHECK(train[4] == 6);
  CHECK(train[5] == 15);
  CHECK(s.train.size() + s.test.size() == t.size());
  CHECK(s.train.n_users == t.n_users);
  CHECK(s.test.n_items == t.n_items);
}

TEST_CASE("no user is lost from train, even with a large test fraction") {
  auto t = table({1, 2, 3, 10});
  auto s = split_ratings(t, SplitKind::Stratified, 0.9, 1);
  auto train = per_user(s.train);
  for (std::uint32_t u = 0; u < 4; ++u) CHECK(train[u] >= 1);
}

TEST_CASE("splits are deterministic by seed and change with it") {
  auto t = table({30, 30, 30});
  auto key = [](const RatingTable& r) { return std::make_tuple(r.users, r.items); };
  for (auto kind : {SplitKind::Stratified, SplitKind::Random}) {
    auto a = split_ratings(t, kind, 0.25, 7);
    auto b = split_ratings(t, kind, 0.25, 7);
    auto c = split_ratings(t, kind, 0.25, 8);
    CHECK(key(a.test) == key(b.test));
    CHECK(key(a.test) != key(c.test));
  }
}

TEST_CASE("train and test are disjoint and together are the input") {
  auto t = table({5, 9, 13});
  auto s = split_ratings(t, SplitKind::Random, 0.3, 3);
  std::set<std::pair<std::uint32_t, std::uint32_t>> pairs;
  for (const auto* part : {&s.train, &s.test})
    for (std::size_t j = 0; j < part->size(); ++j) pairs.insert({part->users[j], part->items[j]});
  CHECK(pairs.size() == t.size());
  CHECK(s.train.size() == 19);  // round(0.7 * 27) = 18.9 -> 19
}

TEST_CASE("chrono split holds out each user's latest ratings") {
  auto t = table({4, 8});  // timestamps fall with the item index
  auto s = split_ratings(t, SplitKind::Chrono, 0.25, 0);
  // Latest = lowest item indexes here: user 0 holds out item 0, user 1 items 0 and 1.
  std::set<std::pair<std::uint32_t, std::uint32_t>> test;
  for (std::size_t j = 0; j < s.test.size(); ++j) test.insert({s.test.users[j], s.test.items[j]});
  CHECK(test == std::set<std::pair<std::uint32_t, std::uint32_t>>{{0, 0}, {1, 0}, {1, 1}});
  for (std::size_t j = 0; j < s.train.size(); ++j)
    for (std::size_t k = 0; k < s.test.size(); ++k)
      if (s.train.users[j] == s.test.users[k]) CHECK(s.train.timestamps[j] <= s.test.timestamps[k]);
  CHECK_FALSE(s.untimed);
}

TEST_CASE("chrono split on ratings without timestamps follows the stored order and says so") {
  auto t = table({4, 8});
  for (auto& ts : t.timestamps) ts = 0;  // a file without a timestamp column
  auto s = split_ratings(t, SplitKind::Chrono, 0.25, 0);
  CHECK(s.untimed);
  // "Latest" is then the last stored: user 0 holds out item 3, user 1 items 6 and 7.
  std::set<std::pair<std::uint32_t, std::uint32_t>> test;
  for (std::size_t j = 0; j < s.test.size(); ++j) test.insert({s.test.users[j], s.test.items[j]});
  CHECK(test == std::set<std::pair<std::uint32_t, std::uint32_t>>{{0, 3}, {1, 6}, {1, 7}});
  // Only chrono reads the timestamps.
  CHECK_FALSE(split_ratings(t, SplitKind::Stratified, 0.25, 0).untimed);
}

TEST_CASE("split none keeps everything in train; bad fractions are rejected") {
  auto t = table({3, 3});
  auto s = split_ratings(t, SplitKind::None, 0.25, 0);
  CHECK(s.train.size() == 6);
  CHECK(s.test.size() == 0);
  CHECK_THROWS(split_ratings(t, SplitKind::Stratified, 0.0, 0));
  CHECK_THROWS(split_ratings(t, SplitKind::Random, 1.0, 0));
  CHECK_THROWS(split_kind_from_string("sideways"));
}
