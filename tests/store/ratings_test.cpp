#include <catch2/catch.hpp>

#include "store/ratings.hpp"
#include "temp_dir.hpp"
#include "test_db.hpp"

using namespace recsys;
using namespace recsys::store;

namespace {
bool same(const std::vector<RatingRecord>& a, const std::vector<RatingRecord>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k)
    if (a[k].item != b[k].item || a[k].value != b[k].value || a[k].timestamp != b[k].timestamp) return false;
  return true;
}
}  // namespace

TEST_CASE("one user's ratings round-trip and survive a reopen") {
  test::TempDir dir;
  std::vector<RatingRecord> list{{1, 4.5f, 100}, {7, 1.0f, -5}, {4000000000u, 3.0f, 1LL << 40}};
  {
    auto db = test::open_test_db(dir, OpenMode::Create);
    db.write([&](Txn& txn) {
      put_user_ratings(db, txn, 3, list);
      put_rating_stats(db, txn, RatingStats{3, 1.0f, 4.5f, Feedback::Explicit});
    });
  }
  auto db = test::open_test_db(dir, OpenMode::ReadOnly);
  auto txn = db.begin_read();
  REQUIRE(same(get_user_ratings(db, txn, 3), list));
  REQUIRE(get_user_ratings(db, txn, 2).empty());
  auto stats = rating_stats(db, txn);
  REQUIRE(stats.count == 3);
  REQUIRE(stats.max_value == 4.5f);
  REQUIRE(stats.feedback == Feedback::Explicit);
  REQUIRE(users_with_ratings(db, txn) == 1);
}

TEST_CASE("stored lists must be sorted without repeats; an empty list deletes") {
  test::TempDir dir;
  auto db = test::open_test_db(dir, OpenMode::Create);
  db.write([&](Txn& txn) {
    std::vector<RatingRecord> unsorted{{5, 1, 0}, {2, 1, 0}};
    REQUIRE_THROWS_AS(put_user_ratings(db, txn, 1, unsorted), std::logic_error);
    std::vector<RatingRecord> one{{2, 1, 0}};
    put_user_ratings(db, txn, 1, one);
    REQUIRE(users_with_ratings(db, txn) == 1);
    put_user_ratings(db, txn, 1, {});
    REQUIRE(users_with_ratings(db, txn) == 0);
  });
}

TEST_CASE("sort_and_fold: stable by item; last one wins or values add up") {
  std::vector<RatingRecord> a{{9, 1, 1}, {3, 2, 2}, {9, 5, 3}, {3, 4, 0}};
  auto b = a;
  a.resize(sort_and_fold(a, DuplicatePolicy::LastWins));
  REQUIRE(same(a, {{3, 4, 0}, {9, 5, 3}}));
  b.resize(sort_and_fold(b, DuplicatePolicy::Sum));
  REQUIRE(same(b, {{3, 6, 2}, {9, 6, 3}}));  // the latest timestamp is kept
}

TEST_CASE("merge_user_ratings folds events into one user's list and keeps the totals") {
  test::TempDir dir;
  auto db = test::open_test_db(dir, OpenMode::Create);
  db.write([&](Txn& txn) {
    std::vector<RatingRecord> first{{1, 1, 10}, {2, 1, 10}};
    merge_user_ratings(db, txn, 0, first, DuplicatePolicy::Sum);
    std::vector<RatingRecord> events{{2, 1, 20}, {0, 0.5f, 30}};
    auto merged = merge_user_ratings(db, txn, 0, events, DuplicatePolicy::Sum);
    REQUIRE(same(merged, {{0, 0.5f, 30}, {1, 1, 10}, {2, 2, 20}}));
    REQUIRE(same(get_user_ratings(db, txn, 0), merged));
    auto stats = rating_stats(db, txn);
    REQUIRE(stats.count == 3);
    REQUIRE(stats.min_value == 0.5f);
    REQUIRE(stats.max_value == 2.0f);
  });
}

TEST_CASE("for_each_user_ratings visits users in order; clear removes all") {
  test::TempDir dir;
  auto db = test::open_test_db(dir, OpenMode::Create);
  db.write([&](Txn& txn) {
    for (std::uint32_t u : {5u, 1u, 300u}) {
      std::vector<RatingRecord> list{{u, static_cast<float>(u), 0}};
      put_user_ratings(db, txn, u, list);
    }
    put_rating_stats(db, txn, RatingStats{3, 1, 300, Feedback::Implicit});
    std::vector<std::uint32_t> seen;
    for_each_user_ratings(db, txn, [&](std::uint32_t u, std::span<const RatingRecord> r) {
      REQUIRE(r.size() == 1);
      REQUIRE(r[0].item == u);
      seen.push_back(u);
    });
    REQUIRE(seen == std::vector<std::uint32_t>{1, 5, 300});
    clear_ratings(db, txn);
    REQUIRE(users_with_ratings(db, txn) == 0);
    REQUIRE(rating_stats(db, txn).count == 0);
  });
}

TEST_CASE("implicit sums saturate at the largest storable value and never become infinite") {
  // 1e9 is the import's limit for one rating (kMaxRatingValue).
  std::vector<RatingRecord> v{{2, 1e9f, 1}, {2, 1e9f, 2}, {5, 3e38f, 1}, {5, 3e38f, 2}, {7, 2.5f, 1}, {7, 0.5f, 3}};
  auto n = sort_and_fold(v, DuplicatePolicy::Sum);
  REQUIRE(n == 3);
  REQUIRE(v[0].value == 1e9f);
  REQUIRE(v[1].value == 1e9f);
  REQUIRE(v[2].value == 3.0f);
  REQUIRE(v[2].timestamp == 3);
}

TEST_CASE("implicit sums are f32: exact up to 2^24, past it an increment below the sum's step is lost") {
  // What docs/storage.md and docs/serving.md state (the docs said sums add up
  // to 1e9): a count of one (user, item) that passes 16,777,216 stops taking
  // single plays; the model's confidence, log(1 + r/eps), cannot tell anyway.
  std::vector<RatingRecord> v{{1, 16777215.0f, 1}, {1, 1.0f, 2}, {2, 16777216.0f, 1}, {2, 1.0f, 2},
                              {2, 1.0f, 3},         {3, 16777216.0f, 1}, {3, 2.0f, 2}};
  REQUIRE(sort_and_fold(v, DuplicatePolicy::Sum) == 3);
  CHECK(v[0].value == 16777216.0f);
  CHECK(v[1].value == 16777216.0f);  // two plays past 2^24: lost, without an error
  CHECK(v[1].timestamp == 3);        // the latest play still counts as recent
  CHECK(v[2].value == 16777218.0f);  // a step of 2 is still exact there
}
