#include "model/als.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "model/row_solver.hpp"
#include "util/memory.hpp"
#include "util/parallel.hpp"
#include "util/random.hpp"
#include "util/timer.hpp"

namespace recsys::model {

namespace {

// Implicit: small positive values (as the `implicit` library: rand · 0.01).
// Explicit: a Gaussian row scaled to unit norm, absolute values when
// nonnegative (as Spark MLlib's ALS initialisation).
void fill_initial(RowMatrixXf& m, const ModelParams& p, std::uint64_t side) {
  const auto f = m.cols();
  for (Eigen::Index r = 0; r < m.rows(); ++r) {
    SplitMix rng(p.seed, side * 0x100000000ull + static_cast<std::uint64_t>(r));
    auto row = m.row(r);
    if (p.feedback == Feedback::Implicit) {
      for (Eigen::Index c = 0; c < f; ++c) row[c] = static_cast<float>(rng.uniform() * 0.01);
    } else {
      for (Eigen::Index c = 0; c < f; c += 2) {  // Box-Muller: two normals per draw
        double u1 = std::max(rng.uniform(), 1e-300), u2 = rng.uniform();
        double rad = std::sqrt(-2.0 * std::log(u1));
        row[c] = static_cast<float>(rad * std::cos(2 * M_PI * u2));
        if (c + 1 < f) row[c + 1] = static_cast<float>(rad * std::sin(2 * M_PI * u2));
      }
      if (p.nonnegative) row = row.cwiseAbs();
      float norm = row.norm();
      if (norm > 0) row /= norm;
    }
  }
}

// One half-step: every row of `x` solved against the fixed `y`.
void solve_side(const ModelParams& p, const Csr& m, const RowMatrixXf& y, RowMatrixXf& x, unsigned threads,
                std::vector<RowWorkspace>& workspaces) {
  Eigen::MatrixXf gram;
  if (p.feedback == Feedback::Implicit) {
    gram = gram_matrix(y, threads);
    gram.diagonal().array() += p.regularization;
  }
  const bool cg = p.solver == Solver::ConjugateGradient && !p.nonnegative;
  // Dynamic scheduling: rows follow a power law, so static chunks would leave a
  // thread idle. Each row's result is independent of which thread solves it.
  parallel_dynamic(m.rows, threads, 64, [&](std::size_t begin, std::size_t end, unsigned worker) {
    RowWorkspace& ws = workspaces[worker];
    for (std::size_t r = begin; r < end; ++r) {
      auto row = static_cast<std::uint32_t>(r);
      float* xr = x.row(r).data();
      if (p.feedback == Feedback::Explicit)
        explicit_exact(y, p.regularization, m.row_indices(row), m.row_values(row), xr, p.nonnegative, ws);
      else if (cg)
        implicit_cg(y, gram, m.row_indices(row), m.row_values(row), xr, p.cg_steps, ws);
      else
        implicit_exact(y, gram, m.row_indices(row), m.row_values(row), xr, p.nonnegative, ws);
    }
  });
}

void check_finite(const ModelParams& p, const RowMatrixXf& m, const char* side, std::uint32_t iteration) {
  if (!m.allFinite())
    throw std::runtime_error(fmt::format("training diverged: {} factors became NaN or infinite in iteration {} "
                                         "({})",
                                         side, iteration,
                                         p.feedback == Feedback::Explicit
                                             ? "the ratings or --regularization are too large for float32"
                                             : "try a smaller --alpha, or --confidence log"));
}

// Sizes a factor matrix with huge pages where the kernel gives them: each
// half-step reads the other side's rows at random (fused_cg.cpp), and with
// 4 KiB pages the 140k × 64 user factors (36 MiB) miss the TLB on nearly
// every row (a standalone copy of the same rows: 44 → 30 ns per row;
// docs/training.md "Speed").
void allocate_factors(RowMatrixXf& m, Eigen::Index rows, Eigen::Index cols) {
  m.resize(rows, cols);
  advise_huge_pages(m.data(), static_cast<std::size_t>(m.size()) * sizeof(float));
}

}  // namespace

Factors initial_factors(const ModelParams& params, std::uint32_t n_users, std::uint32_t n_items) {
  Factors f;
  allocate_factors(f.users, n_users, params.factors);
  allocate_factors(f.items, n_items, params.factors);
  fill_initial(f.users, params, 1);
  fill_initial(f.items, params, 2);
  return f;
}

Eigen::MatrixXf gram_matrix(const RowMatrixXf& y, unsigned threads) {
  const auto f = y.cols();
  const std::size_t rows = static_cast<std::size_t>(y.rows());
  // Small inputs: one chunk; the split below only pays for large factor matrices.
  unsigned chunks = rows < 4096 ? 1u : std::max(1u, threads);
  std::vector<Eigen::MatrixXf> partial(chunks, Eigen::MatrixXf::Zero(f, f));
  parallel_chunks(rows, chunks, [&](std::size_t begin, std::size_t end, unsigned t) {
    auto block = y.middleRows(static_cast<Eigen::Index>(begin), static_cast<Eigen::Index>(end - begin));
    partial[t].selfadjointView<Eigen::Lower>().rankUpdate(block.transpose());
  });
  Eigen::MatrixXf gram = Eigen::MatrixXf::Zero(f, f);
  for (const auto& p : partial) gram += p;
  gram.triangularView<Eigen::StrictlyUpper>() = gram.transpose();
  return gram;
}

Factors fit_als(const ModelParams& params, const RatingMatrix& ratings, const FitOptions& options) {
  const unsigned threads = std::max(1u, options.threads);
  Factors f;
  if (options.start) {
    allocate_factors(f.users, options.start->users.rows(), options.start->users.cols());
    allocate_factors(f.items, options.start->items.rows(), options.start->items.cols());
    f.users = options.start->users;
    f.items = options.start->items;
  } else {
    f = initial_factors(params, ratings.by_user.rows, ratings.by_item.rows);
  }
  std::vector<RowWorkspace> workspaces(threads);
  for (std::uint32_t it = 1; it <= params.iterations; ++it) {
    Timer timer;
    solve_side(params, ratings.by_user, f.items, f.users, threads, workspaces);
    check_finite(params, f.users, "user", it);
    if (options.keep_going && !options.keep_going()) throw FitStopped{};
    solve_side(params, ratings.by_item, f.users, f.items, threads, workspaces);
    check_finite(params, f.items, "item", it);
    IterationInfo info;
    info.iteration = it;
    info.iterations = params.iterations;
    info.seconds = timer.seconds();
    info.factors = &f;
    info.loss = options.compute_loss ? als_loss(params, ratings, f, threads)
                                     : std::numeric_limits<double>::quiet_NaN();
    if (options.on_iteration) options.on_iteration(info);
  }
  return f;
}

}  // namespace recsys::model
