// The evaluation pipeline on data with a planted structure: implicit ALS must
// rank held-out items far above the most-popular baseline.
// GCC 12 false positive inside its AVX-512 intrinsics (see src/model/meson.build).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <catch2/catch.hpp>

#include <vector>

#include "data/split.hpp"
#include "eval/evaluate.hpp"
#include "model/als.hpp"
#include "util/random.hpp"

using namespace recsys;

TEST_CASE("implicit ALS ranks held-out items of planted groups far above popularity") {
  // 8 groups of 25 users and 30 items; users rate 12 random items of their
  // own group. Popularity knows nothing of the groups; ALS should find them.
  const std::uint32_t groups = 8, users_per = 25, items_per = 30;
  data::RatingTable all;
  all.n_users = groups * users_per;
  all.n_items = groups * items_per;
  SplitMix rng(5);
  for (std::uint32_t u = 0; u < all.n_users; ++u) {
    std::uint32_t g = u / users_per;
    std::vector<char> taken(items_per, 0);
    for (int n = 0; n < 12;) {
      auto k = static_cast<std::uint32_t>(rng.below(items_per));
      if (taken[k]) continue;
      taken[k] = 1;
      ++n;
      all.push_back(u, g * items_per + k, 1.0f, 0);
    }
  }
  auto split = data::split_ratings(all, data::SplitKind::Stratified, 0.25, 1);
  model::ModelParams p;
  p.factors = 16;
  p.iterations = 10;
  p = model::resolve_for_data(model::resolve_params(p), all.values);
  auto m = model::build_rating_matrix(p, all.n_users, all.n_items, split.train.users, split.train.items,
                                      split.train.values);
  model::FitOptions o;
  o.threads = 2;
  auto f = model::fit_als(p, m, o);
  eval::EvalOptions eo;
  eo.k = 5;
  eo.threads = 2;
  auto r = eval::evaluate(f.users, f.items, m.by_user, split.test, eo);
  CHECK(r.model.users == all.n_users);
  // Knowing only the group, the best possible precision@5 is 3 test items
  // among the 21 unseen items of the group: 1/7.
  CHECK(r.model.precision > 0.1);
  CHECK(r.model.ndcg > 3 * r.baseline.ndcg);
  // Items seen in training are never recommended: test items are disjoint
  // from train items, so precision can only come from unseen items.
  CHECK(r.model.precision <= 1.0);
  auto text = eval::format_report(r);
  CHECK(text.find("nDCG@5") != std::string::npos);
  auto json = eval::report_json(r);
  CHECK(json.find("\"ndcg_at_k\":") != std::string::npos);
}

TEST_CASE("explicit evaluation reports RMSE with predictions clipped to the rating range") {
  data::RatingTable test;
  test.n_users = 2;
  test.n_items = 2;
  test.push_back(0, 1, 5.0f, 0);
  test.push_back(1, 0, 1.0f, 0);
  // Train: user 0 rated item 0, user 1 rated item 1 (values 1 and 5).
  std::vector<std::uint32_t> tu{0, 1}, ti{0, 1};
  std::vector<float> tv{1, 5};
  auto train = model::build_csr(2, 2, tu, ti, tv);
  model::RowMatrixXf users(2, 1), items(2, 1);
  users << 2, 1;
  items << 1, 4;  // predictions: (0,1) = 8 -> clipped 5; (1,0) = 1
  eval::EvalOptions eo;
  eo.k = 1;
  eo.rating_metrics = true;
  auto r = eval::evaluate(users, items, train, test, eo);
  REQUIRE(r.rating);
  CHECK(r.rating->predicted == 2);
  CHECK(r.rating->rmse == Catch::Detail::Approx(0.0));
}
