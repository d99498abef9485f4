// A small database for ranking and serving tests, written through the store
// API: ids (some with '/', spaces, quotes and UTF-8), random ratings (one user
// and one item without any), and model generations with random factors.
#pragma once

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "model/matrix.hpp"
#include "model/params.hpp"
#include "store/database.hpp"
#include "store/ids.hpp"
#include "store/models.hpp"
#include "store/ratings.hpp"

namespace recsys::test {

// "u17": built with append (GCC 12 warns falsely on "u" + std::to_string(n), bug 105329).
inline std::string numbered(const char* prefix, int n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

struct SmallDb {
  std::vector<std::string> users;  // external ids by index
  std::vector<std::string> items;
  std::vector<std::vector<std::uint32_t>> seen;  // sorted item indexes per user
  std::vector<std::uint32_t> item_counts;
  model::RowMatrixXf user_factors;
  model::RowMatrixXf item_factors;
  std::uint32_t generation = 0;
};

inline store::Database open_db(const std::filesystem::path& path, store::OpenMode mode = store::OpenMode::ReadWrite) {
  store::OpenOptions o;
  o.path = path;
  o.mode = mode;
  o.initial_map_size = std::size_t{64} << 20;
  return store::Database::open(o);
}

inline model::RowMatrixXf random_factors(int rows, int cols, std::mt19937& rng) {
  std::normal_distribution<float> d(0.0f, 0.5f);
  model::RowMatrixXf m(rows, cols);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) m(r, c) = d(rng);
  return m;
}

inline store::FactorMatrix to_factor_matrix(const model::RowMatrixXf& m) {
  store::FactorMatrix f;
  f.rows = static_cast<std::uint32_t>(m.rows());
  f.cols = static_cast<std::uint32_t>(m.cols());
  f.data.assign(m.data(), m.data() + m.size());
  return f;
}

inline std::string model_description() {
  model::ModelParams p;
  p.factors = 8;
  p.regularization = 0.1f;
  p.alpha = 2.0f;
  return "{\"params\":" + model::params_to_json(p) + ",\"trained_at\":\"2026-01-01T00:00:00Z\",\"metrics\":{}}";
}

// Stores a new generation with fresh random factors; returns its number.
inline std::uint32_t add_generation(store::Database& db, SmallDb& s, unsigned seed) {
  std::mt19937 rng(seed);
  s.user_factors = random_factors(static_cast<int>(s.users.size()), 8, rng);
  s.item_factors = random_factors(static_cast<int>(s.items.size()), 8, rng);
  s.generation = db.write([&](store::Txn& txn) {
    return store::save_model(db, txn, model_description(), to_factor_matrix(s.user_factors),
                             to_factor_matrix(s.item_factors));
  });
  return s.generation;
}

// `n_users` users, `n_items` items; the last user and the last item have no ratings.
inline SmallDb make_small_db(const std::filesystem::path& path, int n_users, int n_items, unsigned seed) {
  SmallDb s;
  for (int u = 0; u < n_users; ++u) s.users.push_back(numbered("u", u));
  for (int i = 0; i < n_items; ++i) s.items.push_back(numbered("i", i));
  s.users[1] = "user/one two";
  s.items[1] = "a/b c";
  s.items[2] = "\xC3\xBC\"q";  // ü"q
  std::mt19937 rng(seed);
  s.seen.resize(s.users.size());
  s.item_counts.assign(s.items.size(), 0);
  for (int u = 0; u + 1 < n_users; ++u) {
    for (int i = 0; i + 1 < n_items; ++i) {
      if (rng() % 5 == 0) {
        s.seen[u].push_back(static_cast<std::uint32_t>(i));
        ++s.item_counts[i];
      }
    }
  }
  auto db = open_db(path, store::OpenMode::Create);
  db.write([&](store::Txn& txn) {
    std::vector<std::string_view> users(s.users.begin(), s.users.end()), items(s.items.begin(), s.items.end());
    store::append_ids(db, txn, store::IdKind::User, users);
    store::append_ids(db, txn, store::IdKind::Item, items);
    for (std::uint32_t u = 0; u < s.seen.size(); ++u) {
      std::vector<store::RatingRecord> records;
      for (auto i : s.seen[u]) records.push_back({i, 1.0f + static_cast<float>(i % 5), 1000 + i});
      if (!records.empty()) store::put_user_ratings(db, txn, u, records);
    }
  });
  add_generation(db, s, seed + 1);
  return s;
}

// The expected top-k item indexes of user u: every score one by one (double).
inline std::vector<std::uint32_t> brute_force_user(const SmallDb& s, std::uint32_t u, std::size_t k) {
  std::vector<std::pair<double, std::uint32_t>> all;
  for (std::uint32_t i = 0; i < s.items.size(); ++i) {
    if (std::binary_search(s.seen[u].begin(), s.seen[u].end(), i)) continue;
    double score = 0;
    for (int f = 0; f < s.user_factors.cols(); ++f) score += double(s.user_factors(u, f)) * s.item_factors(i, f);
    all.emplace_back(-score, i);
  }
  std::sort(all.begin(), all.end());
  std::vector<std::uint32_t> out;
  for (std::size_t i = 0; i < std::min(k, all.size()); ++i) out.push_back(all[i].second);
  return out;
}

}  // namespace recsys::test
