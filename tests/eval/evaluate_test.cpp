// The evaluation pipeline on data with a planted structure: implicit ALS must
// rank held-out items far above the most-popular baseline.
// GCC 12 false positive inside its AVX-512 intrinsics (see src/model/meson.build).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
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
  // Bootstrap intervals around the point estimates, in the table and the JSON.
  REQUIRE(r.ndcg_ci);
  REQUIRE(r.map_ci);
  CHECK(r.ndcg_ci->contains(r.model.ndcg));
  CHECK(r.map_ci->contains(r.model.map));
  CHECK(r.per_user.size() == r.model.users);
  CHECK(text.find(fmt::format("[{:.4f}, {:.4f}]", r.ndcg_ci->low, r.ndcg_ci->high)) != std::string::npos);
  CHECK(json.find("\"ndcg_at_k_ci\":[") != std::string::npos);
  CHECK(json.find("\"map_ci\":[") != std::string::npos);
  // The interval is the bootstrap of the per-user values the report keeps.
  std::vector<double> ndcg;
  for (const auto& u : r.per_user) ndcg.push_back(u.ndcg);
  auto again = eval::bootstrap_mean(ndcg);
  CHECK(again.low == r.ndcg_ci->low);
  CHECK(again.high == r.ndcg_ci->high);
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

namespace {

// Metrics of one user computed from their definitions (docs/training.md), on a
// brute-force ranking: every item with a training rating scored, the user's
// training items removed, ties to the lower index. Independent of rank/topk
// and eval/metrics.
struct Expected {
  double precision = 0, recall = 0, ndcg = 0, map = 0, map_at_k = 0;
  std::size_t users = 0;
};

void add_brute_force(Expected& e, const model::RowMatrixXf& users, const model::RowMatrixXf& items,
                     const std::vector<std::uint32_t>& train, const std::vector<std::uint32_t>& test, std::uint32_t u,
                     std::size_t k, const std::vector<char>& trained) {
  std::vector<std::pair<float, std::uint32_t>> scored;
  for (std::uint32_t i = 0; i < items.rows(); ++i) {
    if (!trained[i] || std::find(train.begin(), train.end(), i) != train.end()) continue;
    scored.emplace_back(users.row(u).dot(items.row(i)), i);
  }
  std::sort(scored.begin(), scored.end(),
            [](auto& a, auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  double hits = 0, dcg = 0, prec_sum = 0, idcg = 0;
  for (std::size_t r = 0; r < std::min(k, scored.size()); ++r) {
    if (std::find(test.begin(), test.end(), scored[r].second) == test.end()) continue;
    hits += 1;
    dcg += 1.0 / std::log2(r + 2.0);
    prec_sum += hits / (r + 1.0);
  }
  const std::size_t ideal = std::min(test.size(), k);
  for (std::size_t r = 0; r < ideal; ++r) idcg += 1.0 / std::log2(r + 2.0);
  e.precision += hits / static_cast<double>(k);
  e.recall += hits / static_cast<double>(test.size());
  e.ndcg += dcg / idcg;
  e.map += prec_sum / static_cast<double>(test.size());
  e.map_at_k += prec_sum / static_cast<double>(ideal);
  e.users += 1;
}

}  // namespace

TEST_CASE("evaluation excludes each user's own training items when some users have no test rating") {
  // 12 users, 40 items, random factors. Every user rated their 6 best-scoring
  // items in train (so a wrong exclusion puts them at the top of the list);
  // only users 2, 5, 6, 9 and 11 have test ratings: a held-out item drawn from
  // their next-best ones.
  const std::uint32_t n_users = 12, n_items = 40;
  const std::size_t k = 5;
  SplitMix rng(11);
  model::RowMatrixXf users(n_users, 4), items(n_items, 4);
  for (Eigen::Index r = 0; r < users.size(); ++r) users.data()[r] = static_cast<float>(rng.uniform() - 0.5);
  for (Eigen::Index r = 0; r < items.size(); ++r) items.data()[r] = static_cast<float>(rng.uniform() - 0.5);
  std::vector<std::vector<std::uint32_t>> train(n_users), test(n_users);
  for (std::uint32_t u = 0; u < n_users; ++u) {
    std::vector<std::uint32_t> order(n_items);
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(),
              [&](auto a, auto b) { return users.row(u).dot(items.row(a)) > users.row(u).dot(items.row(b)); });
    train[u].assign(order.begin(), order.begin() + 6);
    if (u == 2 || u == 5 || u == 6 || u == 9 || u == 11) {
      test[u] = {order[6 + u % 3], order[12 + u % 5], order[30]};
    }
    std::sort(train[u].begin(), train[u].end());
    std::sort(test[u].begin(), test[u].end());
  }
  std::vector<std::uint32_t> tu, ti;
  std::vector<float> tv;
  data::RatingTable held_out;
  held_out.n_users = n_users;
  held_out.n_items = n_items;
  Expected want;
  // Items nobody rated in train are not ranked (they have no learned factors).
  std::vector<char> trained(n_items, 0);
  for (const auto& t : train)
    for (auto i : t) trained[i] = 1;
  REQUIRE(std::count(trained.begin(), trained.end(), 0) > 0);  // the case is exercised
  for (std::uint32_t u = 0; u < n_users; ++u) {
    for (auto i : train[u]) tu.push_back(u), ti.push_back(i), tv.push_back(1.0f);
    for (auto i : test[u]) held_out.push_back(u, i, 1.0f, 0);
    if (!test[u].empty()) add_brute_force(want, users, items, train[u], test[u], u, k, trained);
  }
  auto train_csr = model::build_csr(n_users, n_items, tu, ti, tv);
  eval::EvalOptions eo;
  eo.k = k;
  for (unsigned threads : {1u, 2u}) {
    eo.threads = threads;
    auto r = eval::evaluate(users, items, train_csr, held_out, eo);
    REQUIRE(r.model.users == 5);
    const double n = static_cast<double>(want.users);
    CHECK(r.model.precision == Catch::Detail::Approx(want.precision / n));
    CHECK(r.model.recall == Catch::Detail::Approx(want.recall / n));
    CHECK(r.model.ndcg == Catch::Detail::Approx(want.ndcg / n));
    CHECK(r.model.map == Catch::Detail::Approx(want.map / n));
    CHECK(r.model.map_at_k == Catch::Detail::Approx(want.map_at_k / n));
    CHECK(r.model.precision > 0);  // the planted next-best items are found
  }
}

TEST_CASE("a k beyond the catalogue ranks every unseen item instead of reserving k entries per user") {
  // 3 users, 5 items; before the cap, k = 2^40 asked for 3 × 2^40 list entries (std::bad_alloc).
  model::RowMatrixXf users(3, 2), items(5, 2);
  users << 1, 0, 0, 1, 1, 1;
  items << 1, 0, 0.8f, 0.2f, 0, 1, 0.2f, 0.8f, 0.5f, 0.5f;
  std::vector<std::uint32_t> tu{0, 1, 2, 0, 1}, ti{0, 2, 4, 1, 3};  // every item has a train rating
  std::vector<float> tv{1, 1, 1, 1, 1};
  auto train_csr = model::build_csr(3, 5, tu, ti, tv);
  data::RatingTable held_out;
  held_out.n_users = 3;
  held_out.n_items = 5;
  held_out.push_back(0, 3, 1.0f, 0);
  held_out.push_back(1, 1, 1.0f, 0);
  held_out.push_back(2, 0, 1.0f, 0);
  eval::EvalOptions eo;
  eo.k = std::size_t{1} << 40;
  auto r = eval::evaluate(users, items, train_csr, held_out, eo);
  REQUIRE(r.model.users == 3);
  CHECK(r.model.recall == 1.0);  // every unseen item is in every list
  CHECK(r.model.precision == Catch::Detail::Approx(1.0 / static_cast<double>(eo.k)));  // still hits / k
  CHECK(r.k == eo.k);
}
