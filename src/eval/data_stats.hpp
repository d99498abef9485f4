// Statistics of the ratings a model was trained on, for the dashboard's
// overview: how many ratings users and items have (long-tailed, so histograms
// over log-spaced bins) and how rating values are distributed. Computed by
// `train` from the table it already holds in memory (one pass) and stored with
// the generation, so they describe exactly the data behind the served model and
// cost the server nothing (docs/dashboard.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/rating_table.hpp"

namespace recsys::eval {

// counts[i] = how many fall in [edges[i], edges[i+1]) (the last bin is closed).
struct Histogram {
  std::vector<double> edges;  // counts.size() + 1 values, increasing
  std::vector<std::uint64_t> counts;
};

struct DataStats {
  std::uint64_t ratings = 0;
  std::uint32_t users = 0;  // users with at least one rating
  std::uint32_t items = 0;  // items with at least one rating
  Histogram per_user;       // ratings per user, bins [1,2) [2,4) [4,8) …
  Histogram per_item;       // ratings per item, same bins
  Histogram values;         // rating values: one bin per distinct value when
                            // there are at most 20, else 20 equal-width bins
  double density = 0;       // ratings / (users × items)
};

DataStats compute_data_stats(const data::RatingTable& table);

// Bins [2^i, 2^(i+1)) from 1 up to the largest count.
Histogram log2_histogram(const std::vector<std::uint32_t>& counts);

// {"ratings":…,"users":…,"items":…,"density":…,
//  "ratings_per_user":{"edges":[…],"counts":[…]},"ratings_per_item":{…},"rating_values":{…}}
std::string data_stats_json(const DataStats& stats);

}  // namespace recsys::eval
