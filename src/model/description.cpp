#include "model/description.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>

#include "util/json.hpp"

namespace recsys::model {

namespace {

// Members of an ALS fit that an EASE fit does not have: EASE is solved in
// closed form (no iterations, solver or loss), has no factors (the stored
// "factors" is B's width, the item count "items" already gives), ignores the
// ALS feedback kind (its input weighting is "confidence") and has no per-user
// weights.
constexpr std::array<std::string_view, 10> kAlsOnly = {
    "feedback", "solver",          "factors",   "iterations",        "cg_steps",
    "nonnegative", "weighted_lambda", "user_norm", "mean_user_ratings", "loss"};

}  // namespace

std::string public_description(std::string_view description) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(description);
  simdjson::dom::object doc;
  std::string_view family;
  if (parser.parse(padded).get_object().get(doc) != simdjson::SUCCESS ||
      doc["model"].get_string().get(family) != simdjson::SUCCESS) {
    return std::string(description);
  }
  // A model import-factors stored (trained elsewhere: 0 iterations, Spark's
  // weighted λ): the solver, its steps and the seed were never used; fold-in
  // solves exactly.
  std::uint64_t iterations = 1;
  bool weighted = false;
  const bool imported = family != "ease" && doc["iterations"].get_uint64().get(iterations) == simdjson::SUCCESS &&
                        iterations == 0 && doc["weighted_lambda"].get_bool().get(weighted) == simdjson::SUCCESS &&
                        weighted;
  if (family != "ease" && !imported) return std::string(description);
  std::string_view input = "binary";
  if (doc["confidence"].get_string().get(input) != simdjson::SUCCESS) input = "binary";
  auto hidden = [&](std::string_view key) {
    if (imported) return key == "solver" || key == "cg_steps" || key == "seed";
    if (std::find(kAlsOnly.begin(), kAlsOnly.end(), key) != kAlsOnly.end()) return true;
    if (key == "alpha" && input == "binary") return true;  // x = 1 whatever α
    return key == "epsilon" && input != "log";             // only log input divides by ε
  };
  std::string out = "{";
  for (auto [key, value] : doc) {
    if (hidden(key)) continue;
    if (out.size() > 1) out += ',';
    json::append_string(out, key);
    out += ':';
    out += simdjson::minify(value);
  }
  out += '}';
  return out;
}

}  // namespace recsys::model
