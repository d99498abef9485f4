#include "cli/train_options.hpp"

#include "cli/options.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <utility>
#include <vector>

#include "util/error.hpp"
#include "util/log.hpp"

namespace recsys::cli {

void add_model_options(CLI::App& sub, ModelOptions& o) {
  sub.add_option("--model", o.family, "Model family: als (matrix factorisation) or ease (item-item, closed form)")
      ->check(CLI::IsMember({"als", "ease"}))
      ->capture_default_str();
  sub.add_option("--feedback", o.feedback, "implicit (ranks well, default) or explicit (rating prediction)")
      ->check(CLI::IsMember({"implicit", "explicit"}))
      ->capture_default_str();
  sub.add_option("--confidence", o.confidence,
                 "Implicit confidence 1 + alpha*f(r): log f=log(1+r/median r), linear f=r, binary f=1")
      ->check(CLI::IsMember({"log", "linear", "binary"}))
      ->each([&o](const std::string&) { o.confidence_given = true; })
      ->capture_default_str();
  sub.add_option("--solver", o.solver, "Implicit solver: cg (conjugate gradient) or cholesky (exact)")
      ->check(CLI::IsMember({"cg", "cholesky"}))
      ->capture_default_str();
  sub.add_option("--factors", o.factors, "Latent factors")->capture_default_str();
  sub.add_option("--iterations", o.iterations, "ALS iterations")->capture_default_str();
  sub.add_option("--regularization", o.regularization,
                 "L2 regularization lambda (default 50 implicit, 0.12 explicit, 300 EASE; explicit scales it by each row's count)")
      ->check(kNonNegative);
  sub.add_option("--alpha", o.alpha, "Implicit confidence scale (default 10 log, 2 linear, 5 binary)")
      ->check(kNonNegative);
  sub.add_option("--user-norm", o.user_norm,
                 "Implicit ALS: scale each user's confidence by (mean ratings per user / theirs)^this; 0 = off")
      ->capture_default_str();
  sub.add_flag("--nonnegative", o.nonnegative, "Constrain factors to be >= 0 (NNLS)");
  sub.add_option("--seed", o.seed, "Random seed (factors and split)")->capture_default_str();
}

void note_given_options(const CLI::App& sub, ModelOptions& o) {
  for (const char* name :
       {"model", "factors", "iterations", "regularization", "alpha", "user-norm", "confidence", "feedback", "solver",
        "nonnegative"}) {
    const CLI::Option* op = sub.get_option_no_throw(std::string("--") + name);
    if (op && op->count() > 0) o.given.insert(name);
  }
}

void add_split_options(CLI::App& sub, SplitOptions& o) {
  sub.add_option("--split", o.kind_name, "Hold-out split: stratified (per user), random, chrono (per user, latest), none")
      ->check(CLI::IsMember({"stratified", "random", "chrono", "none"}))
      ->capture_default_str();
  sub.add_option("--test-fraction", o.test_fraction, "Fraction of ratings held out for evaluation, in (0, 1)")
      ->capture_default_str();
  sub.add_option("--k", o.k, "Length of the ranked lists evaluated")->capture_default_str();
}

namespace {

// Options given that the chosen model does not have: said, not refused (a
// config file may hold them beside a one-off choice), once per process (train
// resolves again after applying tuned defaults).
void warn_ignored(const ModelOptions& o, std::initializer_list<const char*> names, std::string_view setting,
                  std::string_view why, bool& said) {
  std::vector<std::string> ignored;
  for (const char* name : names)
    if (o.given.count(name)) ignored.push_back(std::string("--") + name);
  if (!ignored.empty() && !std::exchange(said, true))
    log::warn("{} {} {}{}: {}", fmt::join(ignored, ", "), ignored.size() == 1 ? "is an" : "are", setting,
              ignored.size() == 1 ? "" : "s", why);
}

// EASE: λ and the input weighting only (binary unless --confidence is given).
model::ModelParams resolve_ease_options(const ModelOptions& o) {
  model::ModelParams p;
  p.family = model::Family::Ease;
  if (o.feedback != "implicit")
    throw UsageError("--model ease ranks implicit feedback; --feedback explicit is for --model als");
  try {
    p.confidence = o.confidence_given ? model::confidence_from_string(o.confidence) : model::Confidence::Binary;
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  p.seed = o.seed;  // the split's
  if (o.user_norm != 0)
    throw UsageError("--user-norm is an implicit ALS setting; --model ease weighs every user's row alike");
  static bool said = false;
  warn_ignored(o, {"factors", "iterations", "solver", "nonnegative"}, "ALS setting",
               "--model ease has none (its settings are --regularization, and --confidence and --alpha for its input)",
               said);
  if (!std::isnan(o.regularization) && !(o.regularization > 0 && std::isfinite(o.regularization)))
    throw UsageError(fmt::format("--regularization must be > 0 for EASE (got {})", o.regularization));
  if (!std::isnan(o.alpha) && !(o.alpha >= 0 && std::isfinite(o.alpha)))
    throw UsageError(fmt::format("--alpha must be >= 0 (got {})", o.alpha));
  p.regularization = std::isnan(o.regularization) ? 0.0f : static_cast<float>(o.regularization);
  p.alpha = std::isnan(o.alpha) ? 0.0f : static_cast<float>(o.alpha);
  p = model::resolve_params(p);
  if (o.alpha == 0) p.alpha = 0;
  return p;
}

}  // namespace

model::ModelParams resolve_model_options(const ModelOptions& o) {
  model::ModelParams p;
  if (o.family == "ease") return resolve_ease_options(o);
  try {
    p.feedback = model::feedback_from_string(o.feedback);
    p.confidence = model::confidence_from_string(o.confidence);
    p.solver = model::solver_from_string(o.solver);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  p.factors = o.factors;
  p.iterations = o.iterations;
  p.nonnegative = o.nonnegative;
  p.seed = o.seed;
  if (!std::isnan(o.regularization) && !(o.regularization >= 0))
    throw UsageError(fmt::format("--regularization must be >= 0 (got {})", o.regularization));
  if (!std::isnan(o.alpha) && !(o.alpha >= 0))
    throw UsageError(fmt::format("--alpha must be >= 0 (got {})", o.alpha));
  p.regularization = std::isnan(o.regularization) ? 0.0f : static_cast<float>(o.regularization);
  p.alpha = std::isnan(o.alpha) ? 0.0f : static_cast<float>(o.alpha);
  if (p.feedback != model::Feedback::Implicit && o.user_norm != 0)
    throw UsageError("--user-norm applies to implicit feedback; explicit ALS scales λ by each row's count instead");
  p.user_norm = static_cast<float>(o.user_norm);
  if (p.feedback == model::Feedback::Explicit) {
    static bool said = false;
    warn_ignored(o, {"confidence", "alpha", "solver"}, "implicit-feedback setting",
                 "--feedback explicit has none (it fits the ratings themselves, each row solved exactly)", said);
  }
  p = model::resolve_params(p);
  // An explicit 0 is a choice, not "use the default".
  if (o.regularization == 0) p.regularization = 0;
  if (o.alpha == 0) p.alpha = 0;
  model::validate_params(p);
  return p;
}

void check_split_options(SplitOptions& o) {
  try {
    o.kind = data::split_kind_from_string(o.kind_name);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  if (o.kind != data::SplitKind::None && !(o.test_fraction > 0 && o.test_fraction < 1))
    throw UsageError(fmt::format("--test-fraction must be between 0 and 1, exclusive (got {})", o.test_fraction));
  if (o.k == 0) throw UsageError("--k must be at least 1");
}

}  // namespace recsys::cli
