// Fold-in solves one user's row exactly as a training half-step would.
// GCC 12 false positive inside its AVX-512 intrinsics (see src/model/meson.build).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <catch2/catch.hpp>

#include <cmath>
#include <utility>
#include <vector>

#include "model/als.hpp"
#include "model/confidence.hpp"
#include "model/fold_in.hpp"
#include "model/rating_matrix.hpp"
#include "model/row_solver.hpp"
#include "util/random.hpp"

using namespace recsys::model;

TEST_CASE("fold-in of a trained user reproduces the user's Cholesky half-step") {
  // With the exact solver, a user step is exactly fold_in_user with the final
  // item factors; one more user step after training equals fold-in.
  recsys::SplitMix rng(1);
  const std::uint32_t users = 30, items = 25;
  std::vector<std::uint32_t> u, i;
  std::vector<float> v;
  for (std::uint32_t a = 0; a < users; ++a)
    for (std::uint32_t b = 0; b < items; ++b)
      if (rng.uniform() < 0.3) {
        u.push_back(a);
        i.push_back(b);
        v.push_back(static_cast<float>(1 + rng.below(5)));
      }
  // Implicit with and without the per-user normalisation, and explicit.
  for (auto [fb, user_norm] : {std::pair{Feedback::Implicit, 0.0f}, std::pair{Feedback::Implicit, 0.5f},
                               std::pair{Feedback::Explicit, 0.0f}}) {
    INFO("user norm " << user_norm);
    ModelParams p;
    p.feedback = fb;
    p.solver = Solver::Cholesky;
    p.factors = 5;
    p.iterations = 4;
    p.user_norm = user_norm;
    p = resolve_for_data(resolve_params(p), v);
    auto m = build_rating_matrix(p, users, items, u, i, v);
    p.mean_user_ratings = m.mean_user_ratings;  // as recsys train stores it
    FitOptions o;
    auto f = fit_als(p, m, o);
    auto gram = item_gram(f.items);
    // The user with the fewest ratings (their normalisation factor is far from
    // 1), with their raw ratings plus one item the model does not know (ignored,
    // and not counted).
    std::uint32_t user = 0;
    for (std::uint32_t a = 1; a < users; ++a)
      if (m.by_user.row_indices(a).size() < m.by_user.row_indices(user).size()) user = a;
    if (user_norm > 0) {
      const auto n = m.by_user.row_indices(user).size();
      REQUIRE(std::abs(user_confidence_scale(p, p.mean_user_ratings, n) - 1.0f) > 0.2f);
    }
    std::vector<std::uint32_t> items0;
    std::vector<float> values0;
    for (std::size_t j = 0; j < u.size(); ++j)
      if (u[j] == user) {
        items0.push_back(i[j]);
        values0.push_back(v[j]);
      }
    items0.push_back(items + 3);
    values0.push_back(5.0f);
    auto x = fold_in_user(p, f.items, gram, items0, values0);
    // The same solve through the training code: one more user half-step.
    RowMatrixXf again = f.users;
    RowWorkspace ws;
    Eigen::MatrixXf reg = gram;
    reg.diagonal().array() += p.regularization;
    if (fb == Feedback::Implicit)
      implicit_exact(f.items, reg, m.by_user.row_indices(user), m.by_user.row_values(user), again.row(user).data(), false,
                     ws);
    else
      explicit_exact(f.items, p.regularization, m.by_user.row_indices(user), m.by_user.row_values(user),
                     again.row(user).data(), false, ws);
    CHECK((x - again.row(user).transpose()).norm() < 1e-4f * std::max(1.0f, x.norm()));
  }
}

TEST_CASE("fold-in ignores unknown items and gives zero factors without ratings") {
  RowMatrixXf y = RowMatrixXf::Random(10, 4);
  ModelParams p = resolve_params(ModelParams{});
  p.factors = 4;
  auto gram = item_gram(y);
  std::vector<std::uint32_t> none;
  std::vector<float> no_values;
  CHECK(fold_in_user(p, y, gram, none, no_values).isZero());
  std::vector<std::uint32_t> unknown{10, 99};
  std::vector<float> values{1, 1};
  CHECK(fold_in_user(p, y, gram, unknown, values).isZero());
  std::vector<std::uint32_t> known{2};
  std::vector<float> one{1};
  auto x = fold_in_user(p, y, gram, known, one);
  CHECK(x.allFinite());
  CHECK(x.dot(y.row(2).transpose()) > 0);  // the rated item scores positively
}

TEST_CASE("fold-in whose weights pass float's range gives zero factors (the fallback), never NaN") {
  RowMatrixXf y = RowMatrixXf::Random(10, 4);
  for (bool nonnegative : {false, true}) {
    ModelParams p;
    p.confidence = Confidence::Linear;
    p.alpha = 1e30f;
    p.nonnegative = nonnegative;
    p = resolve_params(p);
    p.factors = 4;
    auto gram = item_gram(y);
    std::vector<std::uint32_t> items{1, 2};
    std::vector<float> values{1e9f, 1.0f};  // α·1e9 = inf
    auto x = fold_in_user(p, y, gram, items, values);
    CHECK(x.size() == 4);
    CHECK((x.array() == 0.0f).all());
  }
}

TEST_CASE("the user norm scales each user's confidence by the mean ratings per user over theirs, to the power") {
  // Users 0..3 rate 1, 2, 3 and 6 items (12 ratings, 4 users: mean 3); user 4 rates nothing.
  std::vector<std::uint32_t> u, i;
  std::vector<float> v;
  const std::uint32_t counts[] = {1, 2, 3, 6};
  for (std::uint32_t a = 0; a < 4; ++a)
    for (std::uint32_t b = 0; b < counts[a]; ++b) {
      u.push_back(a);
      i.push_back(b);
      v.push_back(static_cast<float>(1 + (a + b) % 5));
    }
  ModelParams p = resolve_params(ModelParams{});
  p.user_norm = 0.5f;
  p = resolve_for_data(p, v);
  auto m = build_rating_matrix(p, 5, 6, u, i, v);
  CHECK(m.mean_user_ratings == Approx(3.0f));
  for (std::uint32_t a = 0; a < 4; ++a) {
    auto idx = m.by_user.row_indices(a);
    auto w = m.by_user.row_values(a);
    REQUIRE(idx.size() == counts[a]);
    const float scale = std::sqrt(3.0f / static_cast<float>(counts[a]));
    for (std::size_t j = 0; j < idx.size(); ++j) {
      const float r = static_cast<float>(1 + (a + idx[j]) % 5);
      CHECK(w[j] == Approx(confidence_excess(p.confidence, p.alpha, p.epsilon, r) * scale).epsilon(1e-6));
    }
  }
  // The item side holds the same weights.
  CHECK(m.by_item.row_values(0)[0] == Approx(m.by_user.row_values(0)[0]));
  // Off: the weights are the plain confidence excess and no mean is recorded.
  p.user_norm = 0;
  auto plain = build_rating_matrix(p, 5, 6, u, i, v);
  CHECK(plain.mean_user_ratings == 0.0f);
  CHECK(plain.by_user.row_values(3)[0] == Approx(confidence_excess(p.confidence, p.alpha, p.epsilon, v[6])));
}
