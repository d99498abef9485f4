// ALS on small matrices whose answer is known: an exactly low-rank matrix, a
// planted-structure implicit data set, and solver agreement.
// GCC 12 false positive inside its AVX-512 intrinsics (see src/model/meson.build).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "model/als.hpp"
#include "model/fold_in.hpp"
#include "model/row_solver.hpp"
#include "util/error.hpp"
#include "util/random.hpp"

using namespace recsys;
using namespace recsys::model;

namespace {

struct Triples {
  std::uint32_t users = 0, items = 0;
  std::vector<std::uint32_t> u, i;
  std::vector<float> v;
};

// Every entry of a rank-`rank` matrix with entries in roughly [1, 5].
Triples low_rank(std::uint32_t users, std::uint32_t items, int rank, std::uint64_t seed) {
  SplitMix rng(seed);
  RowMatrixXf a(users, rank), b(items, rank);
  for (Eigen::Index j = 0; j < a.size(); ++j) a.data()[j] = static_cast<float>(0.5 + rng.uniform());
  for (Eigen::Index j = 0; j < b.size(); ++j) b.data()[j] = static_cast<float>(0.5 + rng.uniform());
  Triples t{users, items, {}, {}, {}};
  for (std::uint32_t u = 0; u < users; ++u)
    for (std::uint32_t i = 0; i < items; ++i) {
      t.u.push_back(u);
      t.i.push_back(i);
      t.v.push_back(a.row(u).dot(b.row(i)));
    }
  return t;
}

RatingMatrix matrix(const ModelParams& p, const Triples& t) {
  return build_rating_matrix(p, t.users, t.items, t.u, t.i, t.v);
}

std::vector<double> losses_of(const ModelParams& p, const RatingMatrix& m, Factors* out = nullptr, unsigned threads = 2) {
  std::vector<double> losses;
  FitOptions o;
  o.threads = threads;
  o.on_iteration = [&](const IterationInfo& info) { losses.push_back(info.loss); };
  auto f = fit_als(p, m, o);
  if (out) *out = std::move(f);
  return losses;
}

}  // namespace

TEST_CASE("explicit ALS on an exactly rank-3 matrix: loss falls every iteration, error ends near zero") {
  auto t = low_rank(30, 20, 3, 7);
  ModelParams p;
  p.feedback = Feedback::Explicit;
  p.factors = 3;
  p.iterations = 40;
  p.regularization = 1e-6f;
  Factors f;
  auto losses = losses_of(p, matrix(p, t), &f);
  REQUIRE(losses.size() == 40);
  for (std::size_t j = 1; j < losses.size(); ++j) CHECK(losses[j] <= losses[j - 1] * (1 + 1e-5) + 1e-9);
  double se = 0;
  for (std::size_t j = 0; j < t.v.size(); ++j) {
    double e = f.users.row(t.u[j]).dot(f.items.row(t.i[j])) - t.v[j];
    se += e * e;
  }
  CHECK(std::sqrt(se / static_cast<double>(t.v.size())) < 1e-2);
}

TEST_CASE("implicit ALS loss falls every iteration with both solvers") {
  auto t = low_rank(40, 30, 2, 3);
  for (auto solver : {Solver::ConjugateGradient, Solver::Cholesky}) {
    ModelParams p;
    p.solver = solver;
    p.factors = 8;
    p.iterations = 10;
    p = resolve_for_data(resolve_params(p), t.v);
    auto losses = losses_of(p, matrix(p, t));
    for (std::size_t j = 1; j < losses.size(); ++j) CHECK(losses[j] <= losses[j - 1] * (1 + 1e-5));
  }
}

TEST_CASE("conjugate gradient and Cholesky solve the implicit system to the same factors") {
  // Many CG steps converge to the exact solution of each row's system.
  SplitMix rng(11);
  RowMatrixXf y(50, 6);
  for (Eigen::Index j = 0; j < y.size(); ++j) y.data()[j] = static_cast<float>(rng.uniform() - 0.5);
  Eigen::MatrixXf gram = item_gram(y);
  gram.diagonal().array() += 0.1f;
  std::vector<std::uint32_t> idx{1, 4, 9, 20, 33, 49};
  std::vector<float> w{3, 1, 0.5f, 8, 2, 1};
  Eigen::VectorXf x_cg = Eigen::VectorXf::Zero(6), x_ch = Eigen::VectorXf::Zero(6);
  RowWorkspace ws;
  implicit_cg(y, gram, idx, w, x_cg.data(), 30, ws);
  implicit_exact(y, gram, idx, w, x_ch.data(), false, ws);
  CHECK((x_cg - x_ch).norm() < 1e-4 * std::max(1.0f, x_ch.norm()));
}

TEST_CASE("the same seed gives the same factors; another seed does not") {
  auto t = low_rank(25, 15, 2, 5);
  ModelParams p;
  p.factors = 4;
  p.iterations = 3;
  p = resolve_for_data(resolve_params(p), t.v);
  auto m = matrix(p, t);
  FitOptions o;
  o.threads = 2;
  auto a = fit_als(p, m, o);
  auto b = fit_als(p, m, o);
  CHECK(a.users == b.users);
  CHECK(a.items == b.items);
  p.seed = 43;
  auto c = fit_als(p, m, o);
  CHECK(!(a.items == c.items));
}

TEST_CASE("non-negative explicit ALS keeps every factor >= 0") {
  auto t = low_rank(20, 12, 2, 9);
  ModelParams p;
  p.feedback = Feedback::Explicit;
  p.nonnegative = true;
  p.factors = 4;
  p.iterations = 10;
  p.regularization = 0.05f;
  Factors f;
  auto losses = losses_of(p, matrix(p, t), &f);
  CHECK(f.users.minCoeff() >= 0.0f);
  CHECK(f.items.minCoeff() >= 0.0f);
  CHECK(losses.back() < losses.front());
}

TEST_CASE("training stops with an error when factors become NaN") {
  Triples t{3, 3, {0, 1, 2}, {0, 1, 2}, {1.0f, std::numeric_limits<float>::infinity(), 2.0f}};
  ModelParams p;
  p.feedback = Feedback::Explicit;
  p.factors = 2;
  p.iterations = 2;
  p.regularization = 0.1f;
  FitOptions o;
  CHECK_THROWS_WITH(fit_als(p, matrix(p, t), o), Catch::Contains("NaN or infinite"));
}

TEST_CASE("all ratings equal and rows without ratings give finite factors") {
  Triples t{4, 4, {0, 0, 1, 2}, {0, 1, 1, 2}, {3, 3, 3, 3}};  // user 3 and item 3 have no ratings
  for (auto fb : {Feedback::Implicit, Feedback::Explicit}) {
    ModelParams p;
    p.feedback = fb;
    p.factors = 3;
    p.iterations = 5;
    p = resolve_for_data(resolve_params(p), t.v);
    FitOptions o;
    auto f = fit_als(p, matrix(p, t), o);
    CHECK(f.users.allFinite());
    CHECK(f.items.allFinite());
    CHECK(f.users.row(3).isZero());
  }
}

TEST_CASE("bad parameters are usage errors") {
  ModelParams p = resolve_params(ModelParams{});
  p.factors = 0;
  CHECK_THROWS_AS(validate_params(p), UsageError);
  p = resolve_params(ModelParams{});
  p.regularization = -1;
  CHECK_THROWS_AS(validate_params(p), UsageError);
  p = resolve_params(ModelParams{});
  p.iterations = 0;
  CHECK_THROWS_AS(validate_params(p), UsageError);
  p = resolve_params(ModelParams{});
  p.user_norm = -0.25f;
  CHECK_THROWS_AS(validate_params(p), UsageError);
  p.user_norm = std::nanf("");
  CHECK_THROWS_AS(validate_params(p), UsageError);
}

TEST_CASE("parameters survive the JSON round trip") {
  ModelParams p;
  p.feedback = Feedback::Explicit;
  p.confidence = Confidence::Binary;
  p.solver = Solver::Cholesky;
  p.factors = 12;
  p.iterations = 7;
  p.regularization = 0.25f;
  p.alpha = 3.5f;
  p.nonnegative = true;
  p.seed = 123456789012345ull;
  p.epsilon = 4.0f;
  p.user_norm = 0.375f;
  p.mean_user_ratings = 80.5f;
  auto q = params_from_json(params_to_json(p));
  CHECK(q.user_norm == 0.375f);
  CHECK(q.mean_user_ratings == 80.5f);
  // A model stored before the setting existed was fitted without it.
  CHECK(params_from_json(R"({"model":"ials","factors":8})").user_norm == 0.0f);
  CHECK(q.feedback == p.feedback);
  CHECK(q.confidence == p.confidence);
  CHECK(q.solver == p.solver);
  CHECK(q.factors == 12);
  CHECK(q.iterations == 7);
  CHECK(q.regularization == 0.25f);
  CHECK(q.alpha == 3.5f);
  CHECK(q.nonnegative);
  CHECK(q.seed == p.seed);
  CHECK(q.epsilon == 4.0f);
  CHECK_THROWS(params_from_json("not json"));
}
