// Alternating least squares: implicit feedback (Hu, Koren & Volinsky 2008) with
// conjugate-gradient or exact solves, and explicit ratings with weighted-λ
// regularisation (Zhou et al. 2008; Spark MLlib's ALS). Each half-step solves
// every user (then every item) independently over worker threads, so results
// depend on the seed only, not on how rows were scheduled.
#pragma once

#include <cstdint>
#include <functional>

#include "model/matrix.hpp"
#include "model/params.hpp"
#include "model/rating_matrix.hpp"

namespace recsys::model {

struct Factors {
  RowMatrixXf users;  // n_users × factors
  RowMatrixXf items;  // n_items × factors
};

struct IterationInfo {
  std::uint32_t iteration = 0;   // 1-based
  std::uint32_t iterations = 0;
  double loss = 0.0;             // objective after the iteration; NaN when not computed
  double seconds = 0.0;          // wall time of this iteration (without the loss)
  const Factors* factors = nullptr;  // the factors after this iteration, valid during the call
};

struct FitOptions {
  unsigned threads = 1;
  bool compute_loss = true;
  std::function<void(const IterationInfo&)> on_iteration;  // called after every iteration
  // Warm start: continue from these factors (same shapes) instead of
  // initial_factors, so n + m iterations in two calls equal n + m in one
  // (recsys tune promotes trials this way). Not owned; may be null.
  const Factors* start = nullptr;
  // When set, asked between the two half-steps of every iteration: false
  // ends the fit by throwing FitStopped (recsys tune's budget, which then
  // overruns by at most one half-step instead of one iteration).
  std::function<bool()> keep_going;
};

struct FitStopped {};

// Random starting factors from params.seed (independent of thread count).
Factors initial_factors(const ModelParams& params, std::uint32_t n_users, std::uint32_t n_items);

// Fits `params` (resolved: see resolve_params) to `ratings`, starting from
// initial_factors. Throws std::runtime_error if factors become NaN or infinite.
Factors fit_als(const ModelParams& params, const RatingMatrix& ratings, const FitOptions& options);

// The objective ALS minimises for these factors (see loss.cpp).
double als_loss(const ModelParams& params, const RatingMatrix& ratings, const Factors& factors, unsigned threads);

// YᵀY computed in fixed chunks over threads and summed in order (deterministic
// for a given thread count).
Eigen::MatrixXf gram_matrix(const RowMatrixXf& y, unsigned threads);

}  // namespace recsys::model
