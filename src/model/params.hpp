// Model parameters: what `recsys train` fits and what a stored generation
// records (so fold-in and evaluation reuse exactly the training settings).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace recsys::model {

enum class Feedback { Implicit, Explicit };
// How a stored value r becomes implicit confidence 1 + alpha * f(r).
enum class Confidence { Linear, Log, Binary };
enum class Solver { ConjugateGradient, Cholesky };

struct ModelParams {
  Feedback feedback = Feedback::Implicit;
  Confidence confidence = Confidence::Log;
  Solver solver = Solver::ConjugateGradient;
  std::uint32_t factors = 64;
  std::uint32_t iterations = 15;
  float regularization = 0.0f;  // 0: the default for the feedback kind (see als.cpp)
  float alpha = 0.0f;           // 0: the default for the confidence kind
  bool nonnegative = false;
  std::uint64_t seed = 42;
  std::uint32_t cg_steps = 3;
};

std::string_view to_string(Feedback f);
std::string_view to_string(Confidence c);
std::string_view to_string(Solver s);

// The parameters as a JSON object, and back (unknown keys ignored; throws on a
// malformed document).
std::string params_to_json(const ModelParams& p);
ModelParams params_from_json(std::string_view json);

}  // namespace recsys::model
