// Hold-out splits for evaluation before the final fit (PRODUCT.md §2).
#pragma once

#include <cstdint>
#include <string_view>

#include "data/rating_table.hpp"

namespace recsys::data {

enum class SplitKind {
  Stratified,  // per user: each user's ratings shuffled, the first round((1-f)·n) to train
  Random,      // global: a shuffled round((1-f)·N) of all ratings to train
  Chrono,      // per user: the oldest round((1-f)·n) by timestamp to train
  None,        // everything is train, no test set
};

std::string_view to_string(SplitKind k);
// Throws std::invalid_argument for an unknown name.
SplitKind split_kind_from_string(std::string_view s);

struct Split {
  RatingTable train;  // same index spaces (n_users, n_items) as the input
  RatingTable test;
  // Chrono on ratings that all carry one timestamp (files without a timestamp
  // column store 0): "latest" was then the stored order. The caller says so.
  bool untimed = false;
};

// What the caller logs when Split::untimed is set.
inline constexpr const char* kUntimedChronoNotice =
    "--split chrono: the ratings carry no timestamps (all equal), so each user's test part is their last stored "
    "ratings (file order)";

// Splits `all` with `test_fraction` in (0, 1) (ignored for None).
// Stratified follows Microsoft Recommenders' python_stratified_split: the train
// count per user is Python's round((1 - f)·n) (ties to even), so a user with one
// rating keeps it in train; here it is also at least 1 for any fraction, so no
// user is lost from train. Deterministic for a given seed; rows keep the input
// order inside train and test.
Split split_ratings(const RatingTable& all, SplitKind kind, double test_fraction, std::uint64_t seed);

}  // namespace recsys::data
