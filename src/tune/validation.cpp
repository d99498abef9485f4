#include "tune/validation.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <vector>

#include "model/params.hpp"
#include "util/random.hpp"

namespace recsys::tune {

namespace {

// `t` with items renumbered densely in order of first index, keeping only
// those in `present` (a map old -> new, UINT32_MAX for absent).
data::RatingTable renumber_items(const data::RatingTable& t, const std::vector<std::uint32_t>& map,
                                 std::uint32_t n_items) {
  data::RatingTable out;
  out.n_users = t.n_users;
  out.n_items = n_items;
  out.reserve(t.size());
  for (std::size_t j = 0; j < t.size(); ++j) {
    auto i = map[t.items[j]];
    if (i == UINT32_MAX) continue;  // an item the train part never saw: nothing can rank it
    out.push_back(t.users[j], i, t.values[j], t.timestamps.empty() ? 0 : t.timestamps[j]);
  }
  return out;
}

// `fit` split into what trials fit on and what they are scored on, items
// renumbered to those present in the part fitted on.
TuneData carve(const data::RatingTable& fit, data::SplitKind kind, double fraction, std::uint64_t seed) {
  TuneData out;
  auto inner = data::split_ratings(fit, kind, fraction, seed);
  out.untimed = inner.untimed;
  std::vector<std::uint32_t> map(fit.n_items, UINT32_MAX);
  std::uint32_t n_items = 0;
  for (auto i : inner.train.items)
    if (map[i] == UINT32_MAX) map[i] = n_items++;
  // Renumbered in order of first appearance in the part fitted on: a function of that part alone.
  out.train = renumber_items(inner.train, map, n_items);
  out.validation = renumber_items(inner.test, map, n_items);
  if (out.validation.size() == 0)
    throw std::runtime_error(fmt::format(
        "too few ratings to tune: the validation part carved from the {} train ratings is empty", fit.size()));
  model::ModelParams p;
  p.confidence = model::Confidence::Log;
  out.epsilon = model::resolve_for_data(p, out.train.values).epsilon;
  return out;
}

}  // namespace

std::uint64_t validation_seed(std::uint64_t seed) { return splitmix64(seed ^ 0x7475'6e65'7661'6c69ull); }

TuneData carve_validation(const data::RatingTable& all, data::SplitKind kind, double test_fraction,
                          std::uint64_t seed) {
  data::RatingTable fit;
  std::size_t test_ratings = 0;
  bool untimed = false;
  {
    // Exactly train's split; the test part is dropped here without being looked at.
    auto split = data::split_ratings(all, kind, test_fraction, seed);
    test_ratings = split.test.size();
    untimed = split.untimed;
    fit = std::move(split.train);
  }
  TuneData out = carve(fit, kind, test_fraction, validation_seed(seed));
  out.test_ratings = test_ratings;
  out.untimed = untimed;
  out.train_part = std::move(fit);
  out.kind = kind;
  out.seed = seed;
  return out;
}

TuneData carve_part(const TuneData& data, double fraction, std::size_t part) {
  TuneData out = carve(data.train_part, data.kind, fraction, splitmix64(validation_seed(data.seed) + part + 1));
  out.test_ratings = data.test_ratings;
  out.untimed = data.untimed;
  out.kind = data.kind;
  out.seed = data.seed;
  return out;
}

}  // namespace recsys::tune
