// Training defaults found by `recsys tune`: one metadata key ("tuned_defaults")
// holding a JSON document written in one transaction (the winning family and
// settings, the metric, when). `recsys train` reads it for the options not
// given; `recsys tune --reset` deletes it. The store does not interpret the
// document (cli/tuned_defaults.cpp does).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "store/database.hpp"

namespace recsys::store {

inline constexpr std::string_view kTunedDefaultsKey = "tuned_defaults";

std::optional<std::string> tuned_defaults(const Database& db, const Txn& txn);
void put_tuned_defaults(const Database& db, const Txn& txn, std::string_view json);
// Returns whether there was something to forget.
bool erase_tuned_defaults(const Database& db, const Txn& txn);

}  // namespace recsys::store
