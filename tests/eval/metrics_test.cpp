// Metrics against values computed by hand (Microsoft Recommenders' definitions).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "eval/metrics.hpp"

using namespace recsys::eval;
using Catch::Detail::Approx;

TEST_CASE("one user with hits at ranks 1, 3 and 6 of k = 10") {
  std::vector<std::uint32_t> ranked{10, 11, 12, 13, 14, 15, 16, 17, 18, 19};
  std::vector<std::uint32_t> test{10, 12, 15, 99};  // 99 not ranked
  auto s = score_user(ranked, test, 10);
  CHECK(s.precision == Approx(3.0 / 10));
  CHECK(s.recall == Approx(3.0 / 4));
  double dcg = 1 / std::log2(2.0) + 1 / std::log2(4.0) + 1 / std::log2(7.0);
  double idcg = 1 / std::log2(2.0) + 1 / std::log2(3.0) + 1 / std::log2(4.0) + 1 / std::log2(5.0);
  CHECK(s.ndcg == Approx(dcg / idcg));
  double precision_sum = 1.0 / 1 + 2.0 / 3 + 3.0 / 6;
  CHECK(s.ap == Approx(precision_sum / 4));
  CHECK(s.ap_at_k == Approx(precision_sum / 4));
}

TEST_CASE("fewer test items than k: ideal DCG and MAP@k use min(|test|, k)") {
  std::vector<std::uint32_t> ranked{5, 1, 2};
  std::vector<std::uint32_t> test{1, 2};
  auto s = score_user(ranked, test, 3);
  CHECK(s.precision == Approx(2.0 / 3));
  CHECK(s.recall == Approx(1.0));
  double dcg = 1 / std::log2(3.0) + 1 / std::log2(4.0);
  double idcg = 1 / std::log2(2.0) + 1 / std::log2(3.0);
  CHECK(s.ndcg == Approx(dcg / idcg));
  CHECK(s.ap == Approx((1.0 / 2 + 2.0 / 3) / 2));
  // 12 test items, k = 3: MAP divides by 12, MAP@k by 3.
  std::vector<std::uint32_t> many{1, 2, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39};
  auto m = score_user(ranked, many, 3);
  CHECK(m.ap == Approx((1.0 / 2 + 2.0 / 3) / 12));
  CHECK(m.ap_at_k == Approx((1.0 / 2 + 2.0 / 3) / 3));
}

TEST_CASE("no hits score zero; a short list still divides precision by k") {
  std::vector<std::uint32_t> ranked{1, 2};
  std::vector<std::uint32_t> test{7};
  auto s = score_user(ranked, test, 10);
  CHECK(s.precision == 0);
  CHECK(s.ndcg == 0);
  CHECK(s.ap == 0);
  std::vector<std::uint32_t> hit{2};
  CHECK(score_user(ranked, hit, 10).precision == Approx(0.1));
}

TEST_CASE("the accumulator averages over users with test items and counts coverage") {
  RankingAccumulator acc(2, 10);
  std::vector<std::uint32_t> r1{0, 1}, t1{0};
  std::vector<std::uint32_t> r2{2, 3}, t2{9};
  std::vector<std::uint32_t> r3{4, 5}, t3{};  // no test items: not evaluated
  acc.add(r1, t1);
  acc.add(r2, t2);
  acc.add(r3, t3);
  auto m = acc.result(8);
  CHECK(m.users == 2);
  CHECK(m.precision == Approx((0.5 + 0) / 2));
  CHECK(m.recall == Approx((1.0 + 0) / 2));
  CHECK(m.ndcg == Approx(0.5));
  CHECK(m.coverage == Approx(4.0 / 8));  // items 0..3 recommended
}
