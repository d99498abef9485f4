// `recsys train --model ease` and `recsys evaluate` of an EASE generation: the
// memory check, the fit with a progress line, and the hold-out evaluation by
// x_u·B (model/ease.hpp, rank/ease_rank.hpp). An EASE model travels as
// model::Factors with no user rows and B as the item rows, so storing,
// listing, deleting, backing up and checking generations stay as for ALS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "data/rating_table.hpp"
#include "eval/evaluate.hpp"
#include "model/als.hpp"
#include "model/params.hpp"

namespace recsys::cli {

// Default of --max-items: B for 50,000 items is 10 GB.
inline constexpr std::size_t kEaseMaxItems = 50000;

// Throws (suggesting --model als) when `n_items` exceeds `max_items`, or when
// B and the fit's working memory would not fit in MemAvailable. `prunes`:
// --keep deletes older generations in the storing transaction, whose pages
// are written too (measured: one more B when the deleted one is EASE).
void check_ease_fits(std::uint32_t n_items, std::size_t ratings, std::size_t max_items, bool prunes = false);

// B for the ratings of `table` (params resolved, family Ease), as Factors:
// users 0 × items, items = B. Prints a progress line for `phase`.
model::Factors fit_ease_model(const model::ModelParams& params, const data::RatingTable& table, unsigned threads,
                              const std::string& phase);

// Hold-out evaluation of B: users ranked by x_u·B from their `train` ratings,
// those ratings excluded, scored against `test` (same index spaces).
eval::EvalReport evaluate_ease(const model::ModelParams& params, const model::RowMatrixXf& b,
                               const data::RatingTable& train, const data::RatingTable& test,
                               const eval::EvalOptions& options);

}  // namespace recsys::cli
