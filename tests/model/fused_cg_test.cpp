// The AVX2 conjugate-gradient kernels (src/model/fused_cg.cpp) against an
// independent double-precision CG and against the exact solve.
// GCC 12 false positive inside its AVX-512 intrinsics (see src/model/meson.build).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "model/fused_cg.hpp"
#include "model/row_solver.hpp"
#include "util/random.hpp"

using namespace recsys;
using namespace recsys::model;

namespace {

struct System {
  RowMatrixXf y;
  Eigen::MatrixXf gram;  // YᵀY + λI
  std::vector<std::uint32_t> idx;
  std::vector<float> w;
  Eigen::VectorXf x0;  // the warm start
};

System make_system(Eigen::Index items, Eigen::Index f, std::size_t n, std::uint64_t seed) {
  SplitMix rng(seed);
  System s;
  s.y.resize(items, f);
  for (Eigen::Index j = 0; j < s.y.size(); ++j) s.y.data()[j] = static_cast<float>(rng.uniform() - 0.5);
  s.gram = (s.y.transpose() * s.y).eval();
  s.gram.diagonal().array() += 2.0f;
  for (std::size_t j = 0; j < n; ++j) {
    s.idx.push_back(static_cast<std::uint32_t>((j * 7 + 3) % static_cast<std::size_t>(items)));
    s.w.push_back(static_cast<float>(10.0 * rng.uniform()));
  }
  s.x0.resize(f);
  for (Eigen::Index j = 0; j < f; ++j) s.x0[j] = static_cast<float>(0.1 * (rng.uniform() - 0.5));
  return s;
}

// `steps` CG iterations from x0 on (gram + Σ w_j y_j y_jᵀ) x = Σ (1 + w_j) y_j,
// with the matrix formed explicitly, in double precision.
Eigen::VectorXd reference_cg(const System& s, unsigned steps) {
  const auto f = s.y.cols();
  Eigen::MatrixXd a = s.gram.cast<double>();
  Eigen::VectorXd b = Eigen::VectorXd::Zero(f);
  for (std::size_t j = 0; j < s.idx.size(); ++j) {
    Eigen::VectorXd yj = s.y.row(s.idx[j]).transpose().cast<double>();
    a += s.w[j] * yj * yj.transpose();
    b += (1.0 + s.w[j]) * yj;
  }
  Eigen::VectorXd x = s.x0.cast<double>();
  Eigen::VectorXd r = b - a * x, p = r;
  double rs = r.squaredNorm();
  for (unsigned k = 0; k < steps && rs > 1e-20; ++k) {
    Eigen::VectorXd ap = a * p;
    double step = rs / p.dot(ap);
    x += step * p;
    r -= step * ap;
    double rs_new = r.squaredNorm();
    p = r + (rs_new / rs) * p;
    rs = rs_new;
  }
  return x;
}

}  // namespace

TEST_CASE("the fused CG kernels take the steps of conjugate gradient, for every row count and factor count") {
  if (!fused_cg_available(8)) {
    WARN("this build has no AVX2/FMA kernels (march without AVX2): the Eigen path alone is used");
    return;
  }
  // Row counts around the four-row groups and their tail; factor counts of
  // one and several 8-float chunks.
  for (Eigen::Index f : {8, 16, 64}) {
    for (std::size_t n : {1u, 3u, 4u, 5u, 13u, 300u}) {
      auto s = make_system(400, f, n, 17 + n + static_cast<std::size_t>(f));
      for (unsigned steps : {0u, 1u, 3u}) {
        Eigen::VectorXf x = s.x0;
        RowWorkspace ws;
        fused_cg_row(s.y, s.gram, s.idx, s.w, x.data(), steps, ws);
        Eigen::VectorXd want = reference_cg(s, steps);
        INFO("factors " << f << ", rows " << n << ", steps " << steps);
        CHECK((x.cast<double>() - want).norm() <= 1e-4 * std::max(1.0, want.norm()));
      }
    }
  }
}

TEST_CASE("the fused CG kernels converge to the exact solution and agree with implicit_cg") {
  if (!fused_cg_available(16)) {
    WARN("this build has no AVX2/FMA kernels (march without AVX2): the Eigen path alone is used");
    return;
  }
  auto s = make_system(200, 16, 57, 5);
  Eigen::VectorXf x_fused = s.x0, x_exact = s.x0, x_api = s.x0;
  RowWorkspace ws;
  fused_cg_row(s.y, s.gram, s.idx, s.w, x_fused.data(), 40, ws);
  implicit_exact(s.y, s.gram, s.idx, s.w, x_exact.data(), false, ws);
  CHECK((x_fused - x_exact).norm() < 1e-4 * std::max(1.0f, x_exact.norm()));
  // implicit_cg takes the fused path for 16 factors: the same floats.
  implicit_cg(s.y, s.gram, s.idx, s.w, x_api.data(), 40, ws);
  CHECK(x_api == x_fused);
  // No observations: the minimiser is 0, whatever the start.
  Eigen::VectorXf x_none = s.x0;
  fused_cg_row(s.y, s.gram, {}, {}, x_none.data(), 3, ws);
  CHECK(x_none.isZero(0.0f));
}

TEST_CASE("a direction without curvature ends the iteration where it is, never with NaN, on both paths") {
  // λ = 0, a zero Gram matrix and zero weights: A = 0, so pᵀAp = 0 on the
  // first step while the residual Σ y_j is not 0. The step would divide by 0.
  for (Eigen::Index f : {6, 8}) {  // 6: the Eigen path; 8: the fused one where built
    auto s = make_system(50, f, 6, 9);
    s.gram.setZero();
    std::fill(s.w.begin(), s.w.end(), 0.0f);
    Eigen::VectorXf x = s.x0;
    RowWorkspace ws;
    implicit_cg(s.y, s.gram, s.idx, s.w, x.data(), 3, ws);
    INFO("factors " << f << (fused_cg_available(f) ? " (fused)" : " (Eigen)"));
    CHECK(x.allFinite());
    CHECK(x == s.x0);
  }
}
