#include "tune/trial.hpp"

#include <algorithm>
#include <optional>

#include "model/als.hpp"
#include "model/ease.hpp"
#include "rank/ease_rank.hpp"
#include "model/rating_matrix.hpp"

namespace recsys::tune {

namespace {

model::ModelParams ials_params(const Settings& s, const TuneData& data) {
  model::ModelParams p;
  p.feedback = model::Feedback::Implicit;
  p.confidence = s.confidence;
  p.factors = s.factors;
  p.regularization = s.regularization;
  p.alpha = s.alpha;
  p.epsilon = data.epsilon;
  p.user_norm = s.user_norm;
  p.seed = 42;  // the factors' start; the search's --seed drives the settings drawn
  return p;
}

class IalsTrial : public Trial {
 public:
  IalsTrial(const Settings& s, const TuneData& data)
      : params_(ials_params(s, data)),
        matrix_(model::build_rating_matrix(params_, data.train.n_users, data.train.n_items, data.train.users,
                                           data.train.items, data.train.values)) {}

  bool advance(std::uint32_t iterations, unsigned threads, const std::function<bool()>& keep_going) override {
    if (iterations <= done_) return true;
    model::ModelParams p = params_;
    p.iterations = iterations - done_;
    model::FitOptions options;
    options.threads = threads;
    options.compute_loss = false;
    options.start = factors_ ? &*factors_ : nullptr;
    options.on_iteration = [&](const model::IterationInfo& info) {
      if (info.iteration < info.iterations && !keep_going()) throw model::FitStopped{};
    };
    options.keep_going = keep_going;
    try {
      factors_ = model::fit_als(p, matrix_, options);
    } catch (const model::FitStopped&) {
      factors_.reset();
      return false;
    }
    done_ = iterations;
    return true;
  }

  eval::EvalReport evaluate(const TuneData& data, std::size_t k, unsigned threads,
                            const std::function<bool()>& keep_going) const override {
    eval::EvalOptions eo;
    eo.k = k;
    eo.threads = threads;
    eo.bootstrap = 0;
    eo.keep_going = keep_going;
    return eval::evaluate(factors_->users, factors_->items, matrix_.by_user, data.validation, eo);
  }

 private:
  model::ModelParams params_;
  model::RatingMatrix matrix_;
  std::uint32_t done_ = 0;
  std::optional<model::Factors> factors_;
};

// EASE on binary input: one fidelity (closed form), so advance fits once and
// cannot stop midway; the search's time estimate keeps it within the budget.
class EaseTrial : public Trial {
 public:
  EaseTrial(const Settings& s, const TuneData& data) {
    params_.lambda = s.regularization;
    params_.confidence = model::Confidence::Binary;
    x_ = model::build_ease_input(params_, data.train.n_users, data.train.n_items, data.train.users, data.train.items,
                                 data.train.values);
  }

  bool advance(std::uint32_t, unsigned threads, const std::function<bool()>&) override {
    if (b_.size() == 0) b_ = model::fit_ease(params_, x_, threads);
    return true;
  }

  eval::EvalReport evaluate(const TuneData& data, std::size_t k, unsigned threads,
                            const std::function<bool()>& keep_going) const override {
    eval::EvalOptions eo;
    eo.k = k;
    eo.threads = threads;
    eo.bootstrap = 0;
    eo.keep_going = keep_going;
    auto rank = [&](std::span<const std::uint32_t> users, const rank::ExcludeFn& exclude,
                    const rank::BlockOptions& block) { return rank::top_k_ease(x_, b_, users, exclude, block); };
    return eval::evaluate_ranked(rank, x_, data.validation, eo);
  }

 private:
  model::EaseParams params_;
  model::Csr x_;
  model::RowMatrixXf b_;
};

}  // namespace

std::unique_ptr<Trial> start_trial(const Settings& s, const TuneData& data) {
  if (s.family == Family::Ease) return std::make_unique<EaseTrial>(s, data);
  return std::make_unique<IalsTrial>(s, data);
}

double trial_cost(const Settings& s, std::uint32_t from, std::uint32_t to, const TuneData& data) {
  const double nnz = static_cast<double>(data.train.size());
  if (s.family == Family::Ease) {
    // Gram XᵀX, Cholesky and inverse (≈ 4/3·n³ multiply-adds), scoring x_u·B for every user.
    const double n = data.train.n_items;
    const double per_user = nnz / std::max(1.0, static_cast<double>(data.train.n_users));
    return 2.0 * nnz * per_user + 2.0 * (4.0 / 3.0) * n * n * n + 2.0 * nnz * n;
  }
  const double rows = static_cast<double>(data.train.n_users) + data.train.n_items;
  const double f = s.factors;
  const double build = from == 0 ? 20.0 * nnz : 0.0;
  // Per iteration: both half-steps, (1 + CG steps) passes over each row's
  // ratings and a gram product; scoring: every validation user × every item.
  const double iteration = 2.0 * (4.0 * 4.0 * nnz * f + 2.0 * rows * f * f);
  const double scoring = 2.0 * data.train.n_users * static_cast<double>(data.train.n_items) * f;
  return build + (to - from) * iteration + scoring;
}

double trial_memory(const Settings& s, const TuneData& data) {
  if (s.family == Family::Ease)
    return static_cast<double>(model::ease_memory_bytes(data.train.n_items)) + 8.0 * static_cast<double>(data.train.size());
  const double rows = static_cast<double>(data.train.n_users) + data.train.n_items;
  return 16.0 * static_cast<double>(data.train.size()) + 3.0 * 4.0 * rows * s.factors;
}

}  // namespace recsys::tune
