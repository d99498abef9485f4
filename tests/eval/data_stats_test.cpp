// Data statistics and the training curve as train stores them for the dashboard.
#include <catch2/catch.hpp>

#include <cmath>

#include "eval/curve.hpp"
#include "eval/data_stats.hpp"

using namespace recsys;

TEST_CASE("ratings per user fall in power-of-two bins from 1 up to the largest count") {
  auto h = eval::log2_histogram({1, 2, 3, 4, 7, 8, 0});
  CHECK(h.edges == std::vector<double>{1, 2, 4, 8, 16});
  CHECK(h.counts == std::vector<std::uint64_t>{1, 2, 2, 1});  // the 0 (no ratings) is left out
  CHECK(eval::log2_histogram({0, 0}).counts.empty());
  CHECK(eval::log2_histogram({1}).edges == std::vector<double>{1, 2});
}

TEST_CASE("data statistics count users, items and each rating value of a table") {
  data::RatingTable t;
  t.n_users = 4;  // user 3 has no ratings
  t.n_items = 3;
  t.push_back(0, 0, 5, 0);
  t.push_back(0, 1, 3, 0);
  t.push_back(1, 0, 5, 0);
  t.push_back(2, 0, 4.5f, 0);
  auto s = eval::compute_data_stats(t);
  CHECK(s.ratings == 4);
  CHECK(s.users == 3);
  CHECK(s.items == 2);
  CHECK(s.density == Approx(4.0 / 6.0));
  CHECK(s.per_user.counts == std::vector<std::uint64_t>{2, 1});  // two users with 1 rating, one with 2
  CHECK(s.per_item.counts == std::vector<std::uint64_t>{1, 1});  // item 1: 1 rating, item 0: 3
  CHECK(s.values.edges == std::vector<double>{3, 4.5, 5, 5});
  CHECK(s.values.counts == std::vector<std::uint64_t>{1, 1, 2});
  auto json = eval::data_stats_json(s);
  CHECK(json.find("\"rating_values\":{\"edges\":[3,4.5,5,5],\"counts\":[1,1,2]}") != std::string::npos);
}

TEST_CASE("more than 20 distinct rating values are binned in 20 equal-width bins") {
  data::RatingTable t;
  t.n_users = 1;
  t.n_items = 41;
  for (std::uint32_t i = 0; i <= 40; ++i) t.push_back(0, i, static_cast<float>(i), 0);
  auto s = eval::compute_data_stats(t);
  REQUIRE(s.values.counts.size() == 20);
  CHECK(s.values.edges.front() == 0);
  CHECK(s.values.edges.back() == 40);
  CHECK(s.values.counts.front() == 2);  // 0 and 1
  CHECK(s.values.counts.back() == 3);   // 38, 39 and the maximum 40 (the last bin is closed)
}

TEST_CASE("the training curve writes iterations not measured as null") {
  eval::TrainingCurve c;
  c.k = 5;
  c.users = 7;
  c.every = 2;
  c.phase = "fit on train split";
  c.points = {{1, 2.5, 0.25, 0.5}, {2, 2.0, std::nan(""), 0.25}};
  CHECK(eval::curve_json(c) ==
        "{\"k\":5,\"users\":7,\"every\":2,\"phase\":\"fit on train split\",\"iterations\":[1,2],"
        "\"loss\":[2.5,2],\"ndcg\":[0.25,null],\"seconds\":[0.5,0.25]}");
}
