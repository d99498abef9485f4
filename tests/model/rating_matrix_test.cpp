// The ALS input: two CSRs built from rating triples, by copy or consuming them.

#include <catch2/catch.hpp>

#include <vector>

#include "model/params.hpp"
#include "model/rating_matrix.hpp"
#include "util/random.hpp"

using namespace recsys;
using namespace recsys::model;

namespace {

struct Triples {
  std::vector<std::uint32_t> u, i;
  std::vector<float> v;
};

// Unique (user, item) pairs in a shuffled order, values 1–5.
Triples shuffled(std::uint32_t users, std::uint32_t items, std::uint64_t seed) {
  SplitMix rng(seed);
  Triples t;
  for (std::uint32_t u = 0; u < users; ++u)
    for (std::uint32_t i = 0; i < items; ++i)
      if (rng.uniform() < 0.3) {
        t.u.push_back(u);
        t.i.push_back(i);
        t.v.push_back(static_cast<float>(1 + static_cast<int>(rng.uniform() * 5)));
      }
  for (std::size_t j = t.u.size(); j > 1; --j) {
    auto k = static_cast<std::size_t>(rng.uniform() * static_cast<double>(j));
    std::swap(t.u[j - 1], t.u[k]);
    std::swap(t.i[j - 1], t.i[k]);
    std::swap(t.v[j - 1], t.v[k]);
  }
  return t;
}

void check_same(const Csr& a, const Csr& b) {
  CHECK(a.rows == b.rows);
  CHECK(a.cols == b.cols);
  CHECK(a.offsets == b.offsets);
  CHECK(a.indices == b.indices);
  CHECK(a.values == b.values);
}

}  // namespace

TEST_CASE("transposing the by-user matrix gives the by-item matrix built from the triples") {
  auto t = shuffled(37, 23, 3);
  REQUIRE(t.u.size() > 100);
  auto by_user = build_csr(37, 23, t.u, t.i, t.v);
  auto by_item = build_csr(23, 37, t.i, t.u, t.v);
  check_same(transpose(by_user), by_item);
  check_same(transpose(by_item), by_user);
  // Empty rows and columns on both sides (users 40–44 and items 23–29 unrated).
  check_same(transpose(build_csr(45, 30, t.u, t.i, t.v)), build_csr(30, 45, t.i, t.u, t.v));
}

TEST_CASE("the consuming rating matrix equals the copying one and frees the triples") {
  auto t = shuffled(41, 29, 8);
  for (auto feedback : {Feedback::Implicit, Feedback::Explicit}) {
    for (float user_norm : {0.0f, 0.5f}) {
      ModelParams p;
      p.feedback = feedback;
      p.user_norm = feedback == Feedback::Implicit ? user_norm : 0.0f;
      p = resolve_for_data(resolve_params(p), t.v);
      auto copied = build_rating_matrix(p, 41, 29, t.u, t.i, t.v);
      auto u = t.u;
      auto i = t.i;
      auto v = t.v;
      auto consumed = build_rating_matrix(p, 41, 29, std::move(u), std::move(i), std::move(v));
      INFO("implicit " << (feedback == Feedback::Implicit) << ", user norm " << p.user_norm);
      check_same(consumed.by_user, copied.by_user);
      check_same(consumed.by_item, copied.by_item);
      CHECK(consumed.mean_user_ratings == copied.mean_user_ratings);
      CHECK(u.capacity() == 0);
      CHECK(i.capacity() == 0);
      CHECK(v.capacity() == 0);
    }
  }
  // The by-item matrix equals one built from the triples directly.
  ModelParams p;
  p.feedback = Feedback::Explicit;
  p = resolve_for_data(resolve_params(p), t.v);
  check_same(build_rating_matrix(p, 41, 29, t.u, t.i, t.v).by_item, build_csr(29, 41, t.i, t.u, t.v));
}

TEST_CASE("rating arrays of different lengths are refused by both builders") {
  ModelParams p = resolve_for_data(resolve_params(ModelParams{}), std::vector<float>{1.0f});
  std::vector<std::uint32_t> u{0, 1}, i{0};
  std::vector<float> v{1.0f, 2.0f};
  CHECK_THROWS_AS(build_rating_matrix(p, 2, 2, u, i, v), std::invalid_argument);
  CHECK_THROWS_AS(build_rating_matrix(p, 2, 2, std::move(u), std::move(i), std::move(v)), std::invalid_argument);
}
