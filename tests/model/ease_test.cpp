// EASE (Steck 2019) against a direct dense computation in double precision:
// the closed form, its zero diagonal, both ways of forming XᵀX, and the
// per-user scores x_u·B that serving and events rely on.
// GCC 12 false positive inside its AVX-512 intrinsics (see src/model/meson.build).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "model/ease.hpp"
#include "util/random.hpp"

using namespace recsys;
using namespace recsys::model;

namespace {

struct Triples {
  std::uint32_t users = 0, items = 0;
  std::vector<std::uint32_t> u, i;
  std::vector<float> v;
};

// Each (user, item) pair present with probability `density`, values 1..5.
Triples random_ratings(std::uint32_t users, std::uint32_t items, double density, std::uint64_t seed) {
  SplitMix rng(seed);
  Triples t{users, items, {}, {}, {}};
  for (std::uint32_t u = 0; u < users; ++u)
    for (std::uint32_t i = 0; i < items; ++i) {
      if (rng.uniform() >= density) continue;
      t.u.push_back(u);
      t.i.push_back(i);
      t.v.push_back(static_cast<float>(1 + rng.below(5)));
    }
  return t;
}

Eigen::MatrixXd dense_input(const Csr& x) {
  Eigen::MatrixXd d = Eigen::MatrixXd::Zero(x.rows, x.cols);
  for (std::uint32_t u = 0; u < x.rows; ++u) {
    auto cols = x.row_indices(u);
    auto vals = x.row_values(u);
    for (std::size_t s = 0; s < cols.size(); ++s) d(u, cols[s]) = vals[s];
  }
  return d;
}

// Steck's closed form written out directly: a dense double-precision inverse.
Eigen::MatrixXd direct_ease(const Eigen::MatrixXd& x, double lambda) {
  Eigen::MatrixXd g = x.transpose() * x;
  g.diagonal().array() += lambda;
  Eigen::MatrixXd p = g.inverse();
  Eigen::MatrixXd b(p.rows(), p.cols());
  for (Eigen::Index i = 0; i < p.rows(); ++i)
    for (Eigen::Index j = 0; j < p.cols(); ++j) b(i, j) = i == j ? 0.0 : -p(i, j) / p(j, j);
  return b;
}

double max_abs_diff(const RowMatrixXf& a, const Eigen::MatrixXd& b) {
  return (a.cast<double>() - b).cwiseAbs().maxCoeff();
}

}  // namespace

TEST_CASE("EASE weights match a direct dense inverse within 1e-4", "[ease]") {
  // 30, 31 and 32 items: the factorisation pads the order to a multiple of 16
  // (model/ease.cpp), so B must come out the same whatever the padding.
  for (std::uint32_t items : {30u, 31u, 32u}) {
    auto t = random_ratings(80, items, 0.3, 7);
    EaseParams p;
    p.lambda = 4.0f;
    Csr x = build_ease_input(p, t.users, t.items, t.u, t.i, t.v);
    Eigen::MatrixXd expected = direct_ease(dense_input(x), p.lambda);
    REQUIRE(expected.cwiseAbs().maxCoeff() > 0.05);  // a non-trivial B
    for (auto method : {GramMethod::Sparse, GramMethod::DenseSyrk, GramMethod::Auto}) {
      for (unsigned threads : {1u, 2u}) {
        RowMatrixXf b = fit_ease(p, x, threads, method);
        INFO(items << " items, " << threads << " threads");
        REQUIRE(b.rows() == items);
        REQUIRE(b.cols() == items);
        CHECK(max_abs_diff(b, expected) < 1e-4);
        CHECK(b.diagonal().isZero(0.0f));
      }
    }
  }
}

TEST_CASE("EASE with confidence weighting uses x = 1 + alpha*f(r)", "[ease]") {
  auto t = random_ratings(50, 20, 0.35, 11);
  EaseParams p;
  p.lambda = 30.0f;
  p.confidence = Confidence::Linear;
  p.alpha = 0.5f;
  Csr x = build_ease_input(p, t.users, t.items, t.u, t.i, t.v);
  REQUIRE(x.values[0] == Approx(1.0f + 0.5f * t.v[0]));
  RowMatrixXf b = fit_ease(p, x, 2);
  Eigen::MatrixXd expected = direct_ease(dense_input(x), p.lambda);
  CHECK(max_abs_diff(b, expected) < 1e-4);
  CHECK(b.diagonal().isZero(0.0f));
  // Binary input ignores the rating values entirely.
  EaseParams binary;
  Csr xb = build_ease_input(binary, t.users, t.items, t.u, t.i, t.v);
  for (float v : xb.values) REQUIRE(v == 1.0f);
}

TEST_CASE("XᵀX is the same by sparse updates and by dense SSYRK", "[ease]") {
  auto t = random_ratings(300, 45, 0.1, 3);
  Csr x = build_ease_input(EaseParams{}, t.users, t.items, t.u, t.i, t.v);
  RowMatrixXf sparse = ease_gram(x, 2, GramMethod::Sparse);
  RowMatrixXf dense = ease_gram(x, 1, GramMethod::DenseSyrk);
  Eigen::MatrixXd direct = dense_input(x).transpose() * dense_input(x);
  // Binary input: every entry is a co-occurrence count, exact in float.
  CHECK(sparse.cast<double>() == direct);
  CHECK(dense.cast<double>() == direct);
}

TEST_CASE("EASE scores of one user are exactly x_u·B", "[ease]") {
  auto t = random_ratings(40, 25, 0.3, 5);
  EaseParams p;
  p.lambda = 10.0f;
  Csr x = build_ease_input(p, t.users, t.items, t.u, t.i, t.v);
  RowMatrixXf b = fit_ease(p, x, 1);
  Eigen::MatrixXd xd = dense_input(x);
  std::vector<float> scores(25);
  for (std::uint32_t u = 0; u < x.rows; ++u) {
    ease_scores(b, x.row_indices(u), x.row_values(u), scores);
    Eigen::VectorXd expected = (xd.row(u) * b.cast<double>()).transpose();
    for (std::size_t j = 0; j < scores.size(); ++j) REQUIRE(scores[j] == Approx(expected[j]).margin(1e-5));
  }
  // Items outside B (newer than the model) are ignored, not read out of bounds.
  std::vector<std::uint32_t> items{3, 99};
  std::vector<float> xs{1.0f, 1.0f};
  ease_scores(b, items, xs, scores);
  for (std::size_t j = 0; j < scores.size(); ++j) REQUIRE(scores[j] == b(3, static_cast<Eigen::Index>(j)));
  std::vector<float> wrong(24);
  CHECK_THROWS_AS(ease_scores(b, items, xs, wrong), std::invalid_argument);
}

TEST_CASE("EASE refuses a regularization that is not positive", "[ease]") {
  auto t = random_ratings(10, 5, 0.5, 1);
  Csr x = build_ease_input(EaseParams{}, t.users, t.items, t.u, t.i, t.v);
  for (float bad : {0.0f, -1.0f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    EaseParams p;
    p.lambda = bad;
    CHECK_THROWS_AS(fit_ease(p, x, 1), std::invalid_argument);
  }
}

TEST_CASE("an item nobody rated gets an empty row and column in B", "[ease]") {
  // Item 2 is never rated: G's row is λ on the diagonal only.
  std::vector<std::uint32_t> u{0, 0, 1, 1, 2}, i{0, 1, 0, 3, 1};
  std::vector<float> v(5, 1.0f);
  Csr x = build_ease_input(EaseParams{}, 3, 4, u, i, v);
  EaseParams p;
  p.lambda = 1.0f;
  RowMatrixXf b = fit_ease(p, x, 1);
  CHECK(b.row(2).isZero(0.0f));
  CHECK(b.col(2).isZero(0.0f));
  CHECK(max_abs_diff(b, direct_ease(dense_input(x), 1.0)) < 1e-5);
  CHECK(ease_memory_bytes(1000) == 1000u * 1000u * 4u + 1000u * 4u);
}

TEST_CASE("stored parameters without a model key read as ALS and EASE parameters round-trip", "[ease]") {
  // A description written before EASE existed (no "model" key).
  auto old = params_from_json(R"({"feedback":"implicit","confidence":"log","factors":64,"regularization":50})");
  CHECK(old.family == Family::Als);
  CHECK(old.factors == 64);
  CHECK(params_to_json(old).find("\"model\":\"ials\"") != std::string::npos);
  ModelParams ease;
  ease.family = Family::Ease;
  ease.factors = 1682;
  ease.regularization = 300.0f;
  ease.confidence = Confidence::Binary;
  auto back = params_from_json(params_to_json(ease));
  CHECK(back.family == Family::Ease);
  CHECK(back.factors == 1682);
  CHECK(back.regularization == 300.0f);
  CHECK(ease_params_of(back).lambda == 300.0f);
  CHECK(ease_params_of(back).confidence == Confidence::Binary);
}

TEST_CASE("EASE input too large for float32 is refused with a message naming the weighting", "[ease]") {
  auto t = random_ratings(30, 10, 0.5, 9);
  EaseParams p;
  p.lambda = 10.0f;
  p.confidence = Confidence::Linear;
  p.alpha = 1e30f;  // x = 1 + 1e30·r: XᵀX overflows float32
  Csr x = build_ease_input(p, t.users, t.items, t.u, t.i, t.v);
  for (auto method : {GramMethod::Sparse, GramMethod::DenseSyrk}) {
    try {
      (void)fit_ease(p, x, 1, method);
      FAIL("fit_ease accepted an overflowing XᵀX");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()).find("not finite") != std::string::npos);
      CHECK(std::string(e.what()).find("--alpha") != std::string::npos);
    }
  }
}
