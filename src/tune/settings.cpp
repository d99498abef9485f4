#include "tune/settings.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <tuple>
#include <type_traits>

#include "util/json.hpp"

namespace recsys::tune {

namespace {

// Factor counts tried: powers of two and the steps between them.
constexpr std::array<std::uint32_t, 8> kFactorChoices = {16, 32, 48, 64, 96, 128, 192, 256};
constexpr std::uint32_t kMaxIterations = 60;  // refinement's ceiling

double log_uniform(SplitMix& rng, double low, double high) {
  return std::exp(std::log(low) + rng.uniform() * (std::log(high) - std::log(low)));
}

// Three significant digits: settings read back from JSON compare equal, and
// the leaderboard does not pretend to a precision the search does not have.
float round3(double x) {
  if (x <= 0) return 0.0f;
  double scale = std::pow(10.0, 2 - std::floor(std::log10(x)));
  return static_cast<float>(std::round(x * scale) / scale);
}

// A float setting as the shortest decimal that reads back to it ("4.11", not
// 4.110000133514404).
double decimal(float x) { return std::strtod(fmt::format("{}", x).c_str(), nullptr); }

}  // namespace

std::string_view to_string(Family f) { return f == Family::Ease ? "ease" : "ials"; }

Family family_from_string(std::string_view s) {
  if (s == "ials") return Family::Ials;
  if (s == "ease") return Family::Ease;
  throw std::invalid_argument(fmt::format("unknown model family '{}' (ials or ease)", s));
}

Settings default_ials() {
  model::ModelParams p = model::resolve_params(model::ModelParams{});
  Settings s;
  s.factors = p.factors;
  s.regularization = p.regularization;
  s.alpha = p.alpha;
  s.confidence = p.confidence;
  s.user_norm = p.user_norm;
  s.iterations = p.iterations;
  return s;
}

std::uint32_t factor_ceiling(std::size_t users, std::size_t items) {
  const std::size_t smaller = std::min(users, items);
  return static_cast<std::uint32_t>(std::clamp<std::size_t>((smaller + 7) / 8 * 8, 8, kSearchMaxFactors));
}

Settings sample_ials(SplitMix& rng, std::uint32_t max_factors) {
  Settings s;
  s.family = Family::Ials;
  // Drawn from the whole list, then capped: the same draws (and so the same
  // plan) as without a ceiling wherever the ceiling does not bind.
  s.factors = std::min(kFactorChoices[rng.below(kFactorChoices.size())], max_factors);
  s.confidence = std::array{model::Confidence::Log, model::Confidence::Linear, model::Confidence::Binary}[rng.below(3)];
  s.regularization = round3(log_uniform(rng, 5.0, 500.0));
  s.alpha = round3(log_uniform(rng, 1.0, 50.0));
  return s;  // user norm 0: tried last, around the best (search.cpp)
}

Settings ease_settings(float lambda) {
  Settings s;
  s.family = Family::Ease;
  s.factors = 0;
  s.alpha = 0;
  s.user_norm = 0;
  s.iterations = 1;
  s.confidence = model::Confidence::Binary;
  s.regularization = lambda;
  return s;
}

Settings sample_ease(SplitMix& rng) { return ease_settings(round3(log_uniform(rng, 10.0, 10000.0))); }

std::vector<Settings> neighbours(const Settings& s, double step, std::uint32_t max_factors) {
  std::vector<Settings> out;
  auto add = [&](Settings n) {
    if (n != s && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  };
  for (double m : {step, 1.0 / step}) {
    Settings n = s;
    n.regularization = round3(s.regularization * m);
    add(n);
  }
  if (s.family == Family::Ease) return out;
  for (double m : {step, 1.0 / step}) {
    Settings n = s;
    n.alpha = round3(s.alpha * m);
    add(n);
  }
  for (double m : {step, 1.0 / step}) {
    Settings n = s;
    auto f = static_cast<std::uint32_t>(std::lround(s.factors * m / 8.0) * 8);  // multiples of 8: SIMD-friendly
    n.factors = std::clamp<std::uint32_t>(f, 8, std::max<std::uint32_t>(8, max_factors));
    add(n);
  }
  for (double m : {step, 1.0 / step}) {
    Settings n = s;
    n.iterations = std::clamp<std::uint32_t>(static_cast<std::uint32_t>(std::lround(s.iterations * m)), 2, kMaxIterations);
    add(n);
  }
  return out;
}

std::vector<Settings> confirmation_variants(const Settings& s, std::uint32_t max_factors) {
  if (s.family == Family::Ease) return {s};
  std::vector<Settings> out;
  for (std::uint32_t f : {s.factors, std::max(s.factors, std::min(2 * s.factors, max_factors))})
    for (std::uint32_t it : {s.iterations, std::min(2 * s.iterations, kMaxIterations)})
      for (float beta : {s.user_norm, 0.25f, 0.5f}) {
        Settings n = s;
        n.factors = f;
        n.iterations = it;
        n.user_norm = beta;
        if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
      }
  return out;
}

std::vector<Settings> leave_out_costliest(std::vector<Settings>& candidates, const std::vector<Settings>& kept,
                                          const std::function<double(const Settings&)>& cost,
                                          const std::function<bool(const std::vector<Settings>&)>& fits) {
  std::vector<Settings> removed;
  while (!fits(candidates)) {
    auto costliest = candidates.end();
    for (auto it = candidates.begin(); it != candidates.end(); ++it) {
      if (it->family != Family::Ials || std::find(kept.begin(), kept.end(), *it) != kept.end()) continue;
      if (costliest == candidates.end() || cost(*it) > cost(*costliest)) costliest = it;
    }
    if (costliest == candidates.end()) break;
    removed.push_back(*costliest);
    candidates.erase(costliest);
  }
  return removed;
}

bool simpler(const Settings& a, const Settings& b) {
  static const std::uint32_t floor = default_ials().factors;
  auto key = [](const Settings& s) {
    return std::tuple(s.family == Family::Ials ? 1 : 0, std::max(s.factors, floor));
  };
  return key(a) < key(b);
}

bool same_model(const Settings& a, const Settings& b) {
  Settings x = a;
  x.iterations = b.iterations;
  return x == b;
}

std::string describe(const Settings& s) {
  if (s.family == Family::Ease) return fmt::format("lambda {:g}", s.regularization);
  return fmt::format("factors {}, regularization {:g}, alpha {:g}, confidence {}, user norm {:g}, iterations {}",
                     s.factors, s.regularization, s.alpha, model::to_string(s.confidence), s.user_norm, s.iterations);
}

std::string settings_json(const Settings& s) {
  std::string out = "{\"family\":";
  json::append_string(out, to_string(s.family));
  if (s.family == Family::Ease) {
    out += ",\"regularization\":";
    json::append_number(out, decimal(s.regularization));
    return out + '}';
  }
  out += fmt::format(",\"factors\":{},\"regularization\":", s.factors);
  json::append_number(out, decimal(s.regularization));
  out += ",\"alpha\":";
  json::append_number(out, decimal(s.alpha));
  out += ",\"confidence\":";
  json::append_string(out, model::to_string(s.confidence));
  out += ",\"user_norm\":";
  json::append_number(out, decimal(s.user_norm));
  out += fmt::format(",\"iterations\":{}}}", s.iterations);
  return out;
}

Settings settings_from_json(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS || !doc.is_object())
    throw std::runtime_error("the settings are not a JSON object");
  Settings s;
  std::string_view family;
  if (doc["family"].get_string().get(family) != simdjson::SUCCESS) throw std::runtime_error("the settings have no family");
  try {
    s.family = family_from_string(family);
    std::string_view confidence;
    if (doc["confidence"].get_string().get(confidence) == simdjson::SUCCESS)
      s.confidence = model::confidence_from_string(confidence);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  }
  // A key may be missing (a document from before it existed: the default);
  // present, it must be a number in the range tune searches.
  auto number = [&](const char* key, double low, double high, auto& field) {
    simdjson::dom::element v;
    if (doc[key].get(v) != simdjson::SUCCESS) return;
    double x = 0;
    if (v.get_double().get(x) != simdjson::SUCCESS || !(x >= low && x <= high))
      throw std::runtime_error(fmt::format("\"{}\" is {}, not a number from {:g} to {:g}", key, simdjson::minify(v), low, high));
    using T = std::remove_reference_t<decltype(field)>;
    if constexpr (std::is_integral_v<T>) {
      if (x != std::floor(x)) throw std::runtime_error(fmt::format("\"{}\" is {}, not a whole number", key, x));
    }
    field = static_cast<T>(x);
  };
  number("regularization", 1e-6, 1e9, s.regularization);
  if (s.family == Family::Ease) {
    s.factors = 0;
    s.alpha = 0;
    s.user_norm = 0;
    s.iterations = 1;
    s.confidence = model::Confidence::Binary;
    return s;
  }
  number("factors", 1, kSearchMaxFactors, s.factors);
  number("iterations", 1, kMaxIterations, s.iterations);
  number("alpha", 1e-6, 1e9, s.alpha);
  number("user_norm", 0, 2, s.user_norm);
  return s;
}

}  // namespace recsys::tune
