// A generation's description as people and clients see it (GET /v1/model, the
// dashboard, `train --report`). The stored description keeps every parameter
// for every family, because params_from_json reads it back and `check` reads
// "factors" as the width of the stored rows; what is shown leaves out the
// members that mean nothing for the family (docs/serving.md "Dashboard routes").
#pragma once

#include <string>
#include <string_view>

namespace recsys::model {

// `description` (a JSON object) as shown: for an EASE generation ("model":"ease")
// without the ALS-only members (feedback, solver, factors, iterations, cg_steps,
// nonnegative, weighted_lambda, user_norm, mean_user_ratings, loss), without
// alpha under binary input and epsilon unless the input is log; every other
// member in stored order. A model import-factors stored (iterations 0 and
// weighted_lambda) is shown without solver, cg_steps and seed, which it never
// used. Anything else (ALS, older descriptions, text that is not a JSON
// object) is returned unchanged.
std::string public_description(std::string_view description);

}  // namespace recsys::model
