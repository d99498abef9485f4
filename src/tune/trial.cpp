#include "tune/trial.hpp"

#include <optional>

#include "model/als.hpp"
#include "model/rating_matrix.hpp"

namespace recsys::tune {

namespace {

// Thrown from the ALS iteration callback to stop a fit at an iteration boundary.
struct Stopped {};

model::ModelParams ials_params(const Settings& s, const TuneData& data) {
  model::ModelParams p;
  p.feedback = model::Feedback::Implicit;
  p.confidence = s.confidence;
  p.factors = s.factors;
  p.regularization = s.regularization;
  p.alpha = s.alpha;
  p.epsilon = data.epsilon;
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
      if (info.iteration < info.iterations && !keep_going()) throw Stopped{};
    };
    try {
      factors_ = model::fit_als(p, matrix_, options);
    } catch (const Stopped&) {
      factors_.reset();
      return false;
    }
    done_ = iterations;
    return true;
  }

  eval::EvalReport evaluate(const TuneData& data, std::size_t k, unsigned threads) const override {
    eval::EvalOptions eo;
    eo.k = k;
    eo.threads = threads;
    eo.bootstrap = 0;
    return eval::evaluate(factors_->users, factors_->items, matrix_.by_user, data.validation, eo);
  }

 private:
  model::ModelParams params_;
  model::RatingMatrix matrix_;
  std::uint32_t done_ = 0;
  std::optional<model::Factors> factors_;
};

}  // namespace

std::unique_ptr<Trial> start_trial(const Settings& s, const TuneData& data) {
  return std::make_unique<IalsTrial>(s, data);
}

double trial_cost(const Settings& s, std::uint32_t from, std::uint32_t to, const TuneData& data) {
  const double nnz = static_cast<double>(data.train.size());
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
  const double rows = static_cast<double>(data.train.n_users) + data.train.n_items;
  return 16.0 * static_cast<double>(data.train.size()) + 3.0 * 4.0 * rows * s.factors;
}

}  // namespace recsys::tune
