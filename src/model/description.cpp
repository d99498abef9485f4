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
      doc["model"].get_string().get(family) != simdjson::SUCCESS || family != "ease") {
    return std::string(description);
  }
  std::string_view input = "binary";
  if (doc["confidence"].get_string().get(input) != simdjson::SUCCESS) input = "binary";
  std::string out = "{";
  for (auto [key, value] : doc) {
    if (std::find(kAlsOnly.begin(), kAlsOnly.end(), key) != kAlsOnly.end()) continue;
    if (key == "alpha" && input == "binary") continue;  // x = 1 whatever α
    if (key == "epsilon" && input != "log") continue;   // only log input divides by ε
    if (out.size() > 1) out += ',';
    json::append_string(out, key);
    out += ':';
    out += simdjson::minify(value);
  }
  out += '}';
  return out;
}

}  // namespace recsys::model
