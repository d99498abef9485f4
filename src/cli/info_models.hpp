// The "models" section of `recsys info`: stored generations, the one serving,
// and the latest model's parameters and evaluation metrics.
#pragma once

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

std::vector<InfoLine> model_info(const store::Database& db, const store::Txn& txn);

}  // namespace recsys::cli
