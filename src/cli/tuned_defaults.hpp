// The training defaults `recsys tune` stores (store/tuned.hpp) as a document,
// and how `recsys train` applies them: each setting the tune chose is used
// unless its option was given (command line, environment or --config file),
// so the precedence is command line > env > config file > tuned > built-in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cli/train_options.hpp"
#include "store/database.hpp"
#include "tune/settings.hpp"

namespace recsys::cli {

// How much data there is: stored ratings and item ids.
struct DataSize {
  std::uint64_t ratings = 0;
  std::uint64_t items = 0;
};

struct TunedDefaults {
  tune::Settings settings;
  std::string tuned_at;  // UTC, ISO 8601 ("2026-11-26T15:50:02Z")
  std::string metric;    // "ndcg@10"
  double value = 0;      // the metric on validation: the search's part, or the mean over the confirmation's parts
  DataSize data;         // what was tuned on (0: a document from before it was recorded)
};

// The stored ratings and item ids now (one read transaction).
DataSize stored_data_size(store::Database& db);

// {"tuned_at":…,"metric":…,"value":…,"settings":{…settings_json…}}
std::string tuned_defaults_json(const TunedDefaults& t);
// Throws std::runtime_error naming the key on a malformed document.
TunedDefaults parse_tuned_defaults(std::string_view json);
// The stored defaults, if any (one read transaction).
std::optional<TunedDefaults> load_tuned_defaults(store::Database& db);

// "2026-11-26 15:50 UTC" from tuned_at.
std::string tuned_date(const TunedDefaults& t);
// Sets the options not in `options.given` from `t` and returns the line
// train prints first: "using tuned defaults from <date>: factors 128, …".
// A --confidence given that differs from the tuned one also keeps the tuned
// alpha out (alpha's scale depends on the confidence function).
// `now` is the data train is about to fit: settings tuned on data of a very
// different size are flagged, and a tuned EASE is not used on more than twice
// the items it was tuned on (its fit costs items³).
std::string apply_tuned_defaults(const TunedDefaults& t, const DataSize& now, ModelOptions& options);

}  // namespace recsys::cli
