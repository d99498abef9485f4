#include "model/params.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "model/ease.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace recsys::model {

// Defaults chosen on MovieLens 100k, checked on ml-latest-small and synthetic
// play counts (docs/training.md explains how).
namespace {
constexpr float kImplicitRegularization = 50.0f;
constexpr float kExplicitRegularization = 0.12f;
constexpr float kLinearAlpha = 2.0f;
constexpr float kLogAlpha = 10.0f;
constexpr float kBinaryAlpha = 5.0f;
}  // namespace

std::string_view to_string(Feedback f) { return f == Feedback::Implicit ? "implicit" : "explicit"; }

std::string_view to_string(Confidence c) {
  switch (c) {
    case Confidence::Linear: return "linear";
    case Confidence::Log: return "log";
    case Confidence::Binary: return "binary";
  }
  return "log";
}

std::string_view to_string(Solver s) { return s == Solver::Cholesky ? "cholesky" : "cg"; }

Feedback feedback_from_string(std::string_view s) {
  if (s == "implicit") return Feedback::Implicit;
  if (s == "explicit") return Feedback::Explicit;
  throw std::invalid_argument(fmt::format("unknown feedback '{}' (implicit or explicit)", s));
}

Confidence confidence_from_string(std::string_view s) {
  if (s == "linear") return Confidence::Linear;
  if (s == "log") return Confidence::Log;
  if (s == "binary") return Confidence::Binary;
  throw std::invalid_argument(fmt::format("unknown confidence '{}' (linear, log or binary)", s));
}

Solver solver_from_string(std::string_view s) {
  if (s == "cg") return Solver::ConjugateGradient;
  if (s == "cholesky") return Solver::Cholesky;
  throw std::invalid_argument(fmt::format("unknown solver '{}' (cg or cholesky)", s));
}

std::string_view family_name(const ModelParams& p) {
  if (p.family == Family::Ease) return "ease";
  return p.feedback == Feedback::Implicit ? "ials" : "als-explicit";
}

std::string params_to_json(const ModelParams& p) {
  std::string out = "{\"model\":";
  json::append_string(out, family_name(p));
  out += ",\"feedback\":";
  json::append_string(out, to_string(p.feedback));
  out += ",\"confidence\":";
  json::append_string(out, to_string(p.confidence));
  out += ",\"solver\":";
  json::append_string(out, to_string(p.solver));
  out += fmt::format(",\"factors\":{},\"iterations\":{},\"regularization\":", p.factors, p.iterations);
  json::append_number(out, p.regularization);
  out += ",\"alpha\":";
  json::append_number(out, p.alpha);
  out += fmt::format(",\"nonnegative\":{},\"seed\":{},\"cg_steps\":{},\"epsilon\":", p.nonnegative ? "true" : "false",
                     p.seed, p.cg_steps);
  json::append_number(out, p.epsilon);
  out += fmt::format(",\"weighted_lambda\":{},\"user_norm\":", p.weighted_lambda ? "true" : "false");
  json::append_number(out, p.user_norm);
  out += ",\"mean_user_ratings\":";
  json::append_number(out, p.mean_user_ratings);
  out += '}';
  return out;
}

ModelParams params_from_json(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS || !doc.is_object())
    throw std::runtime_error("model parameters are not a JSON object");
  ModelParams p;
  std::string_view family;
  if (doc["model"].get_string().get(family) == simdjson::SUCCESS && family == "ease") p.family = Family::Ease;
  auto str = [&](const char* key, auto parse, auto& field) {
    std::string_view v;
    if (doc[key].get_string().get(v) == simdjson::SUCCESS) field = parse(v);
  };
  str("feedback", feedback_from_string, p.feedback);
  str("confidence", confidence_from_string, p.confidence);
  str("solver", solver_from_string, p.solver);
  auto num = [&](const char* key, auto& field) {
    double v;
    if (doc[key].get_double().get(v) == simdjson::SUCCESS) {
      field = static_cast<std::remove_reference_t<decltype(field)>>(v);
      return;
    }
    std::uint64_t u;
    if (doc[key].get_uint64().get(u) == simdjson::SUCCESS) field = static_cast<std::remove_reference_t<decltype(field)>>(u);
  };
  num("factors", p.factors);
  num("iterations", p.iterations);
  num("regularization", p.regularization);
  num("alpha", p.alpha);
  num("cg_steps", p.cg_steps);
  num("epsilon", p.epsilon);
  num("user_norm", p.user_norm);
  num("mean_user_ratings", p.mean_user_ratings);
  std::uint64_t seed;
  if (doc["seed"].get_uint64().get(seed) == simdjson::SUCCESS) p.seed = seed;
  bool nonneg;
  if (doc["nonnegative"].get_bool().get(nonneg) == simdjson::SUCCESS) p.nonnegative = nonneg;
  bool weighted;
  if (doc["weighted_lambda"].get_bool().get(weighted) == simdjson::SUCCESS) p.weighted_lambda = weighted;
  return p;
}

ModelParams resolve_params(ModelParams p) {
  if (p.regularization == 0.0f && p.family == Family::Ease) p.regularization = kEaseDefaultLambda;
  if (p.regularization == 0.0f)
    p.regularization = p.feedback == Feedback::Implicit ? kImplicitRegularization : kExplicitRegularization;
  if (p.alpha == 0.0f) {
    switch (p.confidence) {
      case Confidence::Linear: p.alpha = kLinearAlpha; break;
      case Confidence::Log: p.alpha = kLogAlpha; break;
      case Confidence::Binary: p.alpha = kBinaryAlpha; break;
    }
  }
  return p;
}

ModelParams resolve_for_data(ModelParams p, std::span<const float> values) {
  if (p.feedback != Feedback::Implicit || p.confidence != Confidence::Log || p.epsilon > 0.0f) return p;
  constexpr std::size_t kSample = 1 << 20;
  const std::size_t stride = std::max<std::size_t>(1, values.size() / kSample);
  std::vector<float> sample;
  sample.reserve(std::min(values.size(), kSample + 1));
  for (std::size_t j = 0; j < values.size(); j += stride)
    if (values[j] > 0.0f && std::isfinite(values[j])) sample.push_back(values[j]);
  if (sample.empty()) {
    p.epsilon = 1.0f;
    return p;
  }
  auto mid = sample.begin() + static_cast<std::ptrdiff_t>(sample.size() / 2);
  std::nth_element(sample.begin(), mid, sample.end());
  p.epsilon = *mid;
  return p;
}

float user_confidence_scale(const ModelParams& p, double mean_user_ratings, std::size_t ratings) {
  if (!(p.user_norm > 0.0f) || !(mean_user_ratings > 0.0) || ratings == 0) return 1.0f;
  return static_cast<float>(std::pow(mean_user_ratings / static_cast<double>(ratings), static_cast<double>(p.user_norm)));
}

void validate_params(const ModelParams& p) {
  if (!(p.user_norm >= 0.0f && p.user_norm <= 2.0f))
    throw UsageError(fmt::format("--user-norm must be between 0 and 2 (got {})", p.user_norm));
  if (p.factors == 0) throw UsageError("--factors must be at least 1");
  if (p.factors > kMaxFactors) throw UsageError(fmt::format("--factors {} is more than {}", p.factors, kMaxFactors));
  if (p.iterations == 0) throw UsageError("--iterations must be at least 1");
  if (p.cg_steps == 0) throw UsageError("CG steps must be at least 1");
  if (!(p.regularization >= 0.0f) || !std::isfinite(p.regularization))
    throw UsageError(fmt::format("--regularization must be a finite number >= 0 (got {})", p.regularization));
  if (!(p.alpha >= 0.0f) || !std::isfinite(p.alpha))
    throw UsageError(fmt::format("--alpha must be a finite number >= 0 (got {})", p.alpha));
}

}  // namespace recsys::model
