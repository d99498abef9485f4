// The data a tuning run sees: the stored ratings split exactly as `recsys
// train` splits them (same kind, fraction and seed), the test part dropped
// unread, and a validation part carved from the train part the same way
// (stratified per user by default) with a seed derived from the train seed.
// Items are renumbered to those present in the train part, so nothing about
// the test part (not even which items occur only there) reaches a trial.
#pragma once

#include <cstddef>
#include <cstdint>

#include "data/rating_table.hpp"
#include "data/split.hpp"

namespace recsys::tune {

struct TuneData {
  data::RatingTable train;       // what trials fit on
  data::RatingTable validation;  // what trials are scored on
  std::size_t test_ratings = 0;  // size of the final test part (only counted)
  bool untimed = false;          // data::Split::untimed of train's split
  float epsilon = 1.0f;          // median train value: log confidence's unit (model/params.hpp)
  // The whole train part (train + validation above, items as stored) and how
  // it was split: the confirmation parts are carved from it (carve_part).
  data::RatingTable train_part;
  data::SplitKind kind = data::SplitKind::Stratified;
  std::uint64_t seed = 42;
};

// The validation seed for a train seed: a fixed mix, so it differs from the
// test split's stream but is reproducible.
std::uint64_t validation_seed(std::uint64_t seed);

// Throws std::runtime_error when the split leaves nothing to validate on.
// `kind` None is refused by the caller (tune needs a held-out part).
TuneData carve_validation(const data::RatingTable& all, data::SplitKind kind, double test_fraction,
                          std::uint64_t seed);

// Confirmation part `part` (0-based) of search.cpp's last stage: `fraction`
// of data.train_part held out the same way (kind), with a seed of its own per
// part, the rest to fit on. Still nothing of the test part. train_part is
// left empty in the result.
TuneData carve_part(const TuneData& data, double fraction, std::size_t part);

}  // namespace recsys::tune
