#include "data/generate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "util/error.hpp"
#include "util/memory.hpp"
#include "util/parallel.hpp"
#include "util/random.hpp"

namespace recsys::data {

namespace {

constexpr int kGenres = 16;               // latent dimensions of the planted tastes
constexpr std::uint32_t kUsersPerBlock = 2048;
constexpr double kExploreRate = 0.25;     // share of picks from global popularity
constexpr std::int64_t kFirstTime = 946684800;   // 2000-01-01
constexpr std::int64_t kTimeSpan = 631152000;    // 20 years

double normal(SplitMix& rng) {
  // Box-Muller; uniform() < 1 so the log argument is positive.
  double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// Vose's alias method: O(1) draws from a fixed discrete distribution.
class AliasTable {
 public:
  AliasTable() = default;
  AliasTable(const std::vector<double>& weights, std::vector<std::uint32_t> values) : values_(std::move(values)) {
    std::size_t n = weights.size();
    prob_.assign(n, 0.0);
    alias_.assign(n, 0);
    double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
    std::vector<double> scaled(n);
    std::vector<std::uint32_t> small, large;
    for (std::size_t k = 0; k < n; ++k) {
      scaled[k] = weights[k] * static_cast<double>(n) / sum;
      (scaled[k] < 1.0 ? small : large).push_back(static_cast<std::uint32_t>(k));
    }
    while (!small.empty() && !large.empty()) {
      std::uint32_t s = small.back(), l = large.back();
      small.pop_back();
      prob_[s] = scaled[s];
      alias_[s] = l;
      scaled[l] -= 1.0 - scaled[s];
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (auto k : large) prob_[k] = 1.0;
    for (auto k : small) prob_[k] = 1.0;
  }
  bool empty() const { return values_.empty(); }
  std::uint32_t draw(SplitMix& rng) const {
    std::uint64_t k = rng.below(values_.size());
    return values_[rng.uniform() < prob_[k] ? k : alias_[k]];
  }

 private:
  std::vector<double> prob_;
  std::vector<std::uint32_t> alias_;
  std::vector<std::uint32_t> values_;
};

struct World {
  std::vector<std::uint8_t> genre;          // per item
  std::vector<float> item_factors;          // items x kGenres
  std::vector<float> item_bias;
  AliasTable popular;                       // all items by popularity
  std::vector<AliasTable> by_genre;         // items of one genre by popularity
  std::vector<std::uint32_t> per_user;      // ratings per user
};

World make_world(const GenerateOptions& o) {
  World w;
  SplitMix rng(o.seed, 1);
  std::uint32_t m = o.items;
  // Zipf-like popularity over a random order of the items.
  std::vector<std::uint32_t> rank(m);
  std::iota(rank.begin(), rank.end(), 0u);
  for (std::uint32_t k = m; k > 1; --k) std::swap(rank[k - 1], rank[rng.below(k)]);
  std::vector<double> weight(m);
  std::vector<std::vector<double>> genre_weights(kGenres);
  std::vector<std::vector<std::uint32_t>> genre_items(kGenres);
  w.genre.resize(m);
  w.item_factors.resize(static_cast<std::size_t>(m) * kGenres);
  w.item_bias.resize(m);
  for (std::uint32_t i = 0; i < m; ++i) {
    weight[i] = 1.0 / (rank[i] + 3.0);
    auto g = static_cast<std::uint8_t>(rng.below(kGenres));
    w.genre[i] = g;
    genre_weights[g].push_back(weight[i]);
    genre_items[g].push_back(i);
    for (int d = 0; d < kGenres; ++d) {
      w.item_factors[static_cast<std::size_t>(i) * kGenres + d] =
          static_cast<float>((d == g ? 1.0 : 0.0) + 0.25 * normal(rng));
    }
    // Popular items are rated a little higher, as in real catalogues.
    w.item_bias[i] = static_cast<float>(0.35 * normal(rng) + 0.3 * (1.0 - 2.0 * rank[i] / m));
  }
  std::vector<std::uint32_t> all(m);
  std::iota(all.begin(), all.end(), 0u);
  w.popular = AliasTable(weight, all);
  for (int g = 0; g < kGenres; ++g) w.by_genre.emplace_back(genre_weights[g], genre_items[g]);

  // Power-law activity: Pareto weights, a floor of a few ratings, a cap of
  // half the catalogue, the total exactly o.ratings.
  std::uint32_t n = o.users;
  std::uint64_t cap = std::max<std::uint64_t>(1, (m + 1) / 2);
  std::uint64_t floor_per_user = std::min<std::uint64_t>({5, o.ratings / n, cap});
  std::vector<double> activity(n);
  for (auto& a : activity) a = std::pow(1.0 - rng.uniform(), -1.0 / 1.3);
  double sum = std::accumulate(activity.begin(), activity.end(), 0.0);
  std::uint64_t rest = o.ratings - floor_per_user * n;
  w.per_user.resize(n);
  std::uint64_t assigned = 0;
  for (std::uint32_t u = 0; u < n; ++u) {
    auto extra = static_cast<std::uint64_t>(static_cast<double>(rest) * activity[u] / sum);
    w.per_user[u] = static_cast<std::uint32_t>(std::min(cap, floor_per_user + extra));
    assigned += w.per_user[u];
  }
  for (std::uint32_t u = 0; assigned < o.ratings; u = (u + 1) % n) {
    if (w.per_user[u] < cap) ++w.per_user[u], ++assigned;
  }
  return w;
}

// One block of users, rendered as CSV rows into `out`.
void generate_block(const GenerateOptions& o, const World& w, std::uint32_t block, std::string& out,
                    std::vector<std::uint32_t>& seen_stamp) {
  SplitMix rng(o.seed, 1000 + block);
  // Play counts draw their extra noise from a stream of their own, so both
  // kinds of file hold the same pairs and timestamps.
  SplitMix count_rng(o.seed, (std::uint64_t{1} << 40) + block);  // never one of the 1000 + block streams
  std::uint32_t first = block * kUsersPerBlock;
  std::uint32_t last = std::min<std::uint32_t>(o.users, first + kUsersPerBlock);
  std::vector<std::uint32_t> picked;
  std::vector<std::int64_t> times;
  float taste[kGenres];
  for (std::uint32_t u = first; u < last; ++u) {
    // Tastes: one to three favourite genres plus noise; a personal bias.
    int favourites[3];
    double fav_weight[3];
    int n_fav = 1 + static_cast<int>(rng.below(3));
    for (int d = 0; d < kGenres; ++d) taste[d] = static_cast<float>(0.3 * normal(rng));
    double total = 0;
    for (int f = 0; f < n_fav; ++f) {
      favourites[f] = static_cast<int>(rng.below(kGenres));
      fav_weight[f] = 0.3 + rng.uniform();
      total += fav_weight[f];
      taste[favourites[f]] += static_cast<float>(1.5 * fav_weight[f]);
    }
    double user_bias = 0.35 * normal(rng);

    std::uint32_t want = w.per_user[u];
    std::uint32_t stamp = u + 1;
    picked.clear();
    std::uint64_t attempts = 0, budget = 20ull * want + 1000;
    while (picked.size() < want) {
      std::uint32_t item;
      if (attempts++ < budget) {
        if (rng.uniform() < kExploreRate) {
          item = w.popular.draw(rng);
        } else {
          double x = rng.uniform() * total;
          int f = 0;
          while (f + 1 < n_fav && x >= fav_weight[f]) x -= fav_weight[f++];
          const AliasTable& t = w.by_genre[static_cast<std::size_t>(favourites[f])];
          item = t.empty() ? w.popular.draw(rng) : t.draw(rng);
        }
      } else {
        item = static_cast<std::uint32_t>(rng.below(o.items));  // the tail, for very active users
      }
      if (seen_stamp[item] == stamp) continue;
      seen_stamp[item] = stamp;
      picked.push_back(item);
    }
    // Activity spread over a personal period, in time order.
    std::int64_t start = kFirstTime + static_cast<std::int64_t>(rng.below(kTimeSpan));
    double span = std::min(86400.0 * 365 * 3, -86400.0 * 120 * std::log(1.0 - rng.uniform()) + 3600);
    times.resize(want);
    for (auto& t : times) t = start + static_cast<std::int64_t>(rng.uniform() * span);
    std::sort(times.begin(), times.end());

    fmt::format_int user_id(u + 1);
    for (std::uint32_t k = 0; k < want; ++k) {
      std::uint32_t i = picked[k];
      const float* q = &w.item_factors[static_cast<std::size_t>(i) * kGenres];
      double dot = 0;
      for (int d = 0; d < kGenres; ++d) dot += taste[d] * q[d];
      double x = 2.9 + user_bias + w.item_bias[i] + 0.55 * dot + 0.6 * normal(rng);
      out.append(user_id.data(), user_id.size());
      out += ',';
      fmt::format_int item_id(i + 1);
      out.append(item_id.data(), item_id.size());
      out += ',';
      if (o.values == GeneratedValues::Counts) {
        // Log-normal around the same affinity: about 11 plays at x = 3, 120 at
        // x = 5, and a multiplicative noise that gives a tail of thousands.
        double log_plays = 1.2 * (x - 1.0) + 0.9 * normal(count_rng);
        fmt::format_int plays(1 + static_cast<long long>(std::exp(std::min(log_plays, 20.0))));
        out.append(plays.data(), plays.size());
      } else {
        out += static_cast<char>('0' + std::clamp(std::lround(x), 1L, 5L));
      }
      out += ',';
      fmt::format_int ts(times[k]);
      out.append(ts.data(), ts.size());
      out += '\n';
    }
  }
}

// Bytes make_world and generate_ratings hold: per item the popularity order,
// weights and alias tables, genre lists, planted factors (kGenres floats) and a
// "seen" stamp per thread; per user the activity and count.
double generate_memory(const GenerateOptions& o) {
  const double per_item = 4 + 8 + 12 + 16 + 1 + 4.0 * kGenres + 4 + 4 + 4.0 * std::max(1u, o.threads);
  return per_item * o.items + 12.0 * o.users;
}

}  // namespace

void check_generate_options(const GenerateOptions& o) {
  if (o.users == 0 || o.items == 0 || o.ratings == 0)
    throw UsageError("generate: --users, --items and --ratings must be at least 1");
  if (o.ratings < o.users) {
    throw UsageError(fmt::format("generate: --ratings ({}) must be at least --users ({}): every user rates something",
                                 o.ratings, o.users));
  }
  std::uint64_t cap = std::max<std::uint64_t>(1, (static_cast<std::uint64_t>(o.items) + 1) / 2);
  if (o.ratings > cap * o.users) {
    throw UsageError(fmt::format("generate: at most {} ratings fit {} users who each rate at most half of {} items",
                                 cap * o.users, o.users, o.items));
  }
  const double need = generate_memory(o), available = static_cast<double>(available_memory());
  if (available > 0 && need > available)
    throw std::runtime_error(fmt::format("generate: {} items and {} users need about {:.1f} GiB, more than the {:.1f} GiB "
                                         "available (MemAvailable)",
                                         o.items, o.users, need / (1u << 30), available / (1u << 30)));
}

void generate_ratings(const GenerateOptions& o, const std::function<void(std::string_view)>& write) {
  check_generate_options(o);
  World w = make_world(o);
  write(o.values == GeneratedValues::Counts ? "user,item,plays,timestamp\n" : "user,item,rating,timestamp\n");
  std::uint32_t blocks = (o.users + kUsersPerBlock - 1) / kUsersPerBlock;
  unsigned threads = std::max(1u, o.threads);
  std::vector<std::vector<std::uint32_t>> seen(threads, std::vector<std::uint32_t>(o.items, 0));
  // Waves of blocks: generated in parallel, written in order.
  std::uint32_t wave = threads * 4;
  std::vector<std::string> buffers(wave);
  for (std::uint32_t b0 = 0; b0 < blocks; b0 += wave) {
    std::uint32_t n = std::min(wave, blocks - b0);
    parallel_dynamic(n, threads, 1, [&](std::size_t b, std::size_t e, unsigned worker) {
      for (std::size_t k = b; k < e; ++k) {
        buffers[k].clear();
        generate_block(o, w, b0 + static_cast<std::uint32_t>(k), buffers[k], seen[worker]);
      }
    });
    for (std::uint32_t k = 0; k < n; ++k) write(buffers[k]);
  }
}

}  // namespace recsys::data
