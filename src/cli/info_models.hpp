// The "models" section of `recsys info`: stored generations, the one serving,
// and the latest model's parameters and evaluation metrics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/database.hpp"

namespace recsys::cli {

// One line: `json` is a JSON value, `text` what a person reads.
struct InfoLine {
  std::string key;
  std::string label;
  std::string json;
  std::string text;
};

// The few description fields shown to people (docs/storage.md "Models").
struct ModelSummary {
  std::string feedback = "?";
  std::string family;         // "ials", "als-explicit" or "ease" (older descriptions: from feedback)
  double regularization = 0;
  std::string confidence = "?";  // EASE's input weighting: binary, log or linear
  double alpha = 0;
  std::string trained_at = "?";
  std::uint64_t factors = 0;
  std::string metrics_json = "null";  // the "metrics" object as stored
  std::string metrics_text;           // "nDCG@10 0.4812  MAP ..." or empty
};
ModelSummary summarize_model(const std::string& description);
// The family and its parameters for people: "implicit ALS, 64 factors" or
// "EASE, λ 300, binary input, 1682 items" (EASE has no factors: B is items × items).
std::string model_text(const ModelSummary& s);
// The same as JSON members (no braces): ALS `"model":"ials","feedback":…,"factors":…`;
// EASE `"model":"ease","regularization":λ,"confidence":…,"items":…`, without the
// ALS-only feedback and factors (docs/storage.md "Models").
std::string model_json_members(const ModelSummary& s);

std::vector<InfoLine> model_info(const store::Database& db, const store::Txn& txn);

}  // namespace recsys::cli
