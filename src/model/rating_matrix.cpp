#include "model/rating_matrix.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "model/confidence.hpp"

namespace recsys::model {

namespace {

// Sorts each row by column index (rows of data read back from the store are
// already sorted, so this is usually only the is_sorted check).
void sort_rows(Csr& m) {
  std::vector<std::pair<std::uint32_t, float>> tmp;
  for (std::uint32_t r = 0; r < m.rows; ++r) {
    auto b = m.offsets[r], e = m.offsets[r + 1];
    if (std::is_sorted(m.indices.begin() + b, m.indices.begin() + e)) continue;
    tmp.clear();
    for (auto j = b; j < e; ++j) tmp.emplace_back(m.indices[j], m.values[j]);
    std::stable_sort(tmp.begin(), tmp.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    for (auto j = b; j < e; ++j) std::tie(m.indices[j], m.values[j]) = tmp[j - b];
  }
}

}  // namespace

Csr build_csr(std::uint32_t rows, std::uint32_t cols, std::span<const std::uint32_t> row,
              std::span<const std::uint32_t> col, std::span<const float> value) {
  if (row.size() != col.size() || row.size() != value.size())
    throw std::invalid_argument("build_csr: row, column and value arrays differ in length");
  Csr m;
  m.rows = rows;
  m.cols = cols;
  m.offsets.assign(static_cast<std::size_t>(rows) + 1, 0);
  for (std::size_t j = 0; j < row.size(); ++j) {
    if (row[j] >= rows || col[j] >= cols)
      throw std::out_of_range(fmt::format("rating {}: index ({}, {}) outside {} × {}", j, row[j], col[j], rows, cols));
    ++m.offsets[row[j] + 1];
  }
  for (std::uint32_t r = 0; r < rows; ++r) m.offsets[r + 1] += m.offsets[r];
  m.indices.resize(row.size());
  m.values.resize(row.size());
  // Counting sort by row: `next` is where each row's next value goes.
  std::vector<std::uint64_t> next(m.offsets.begin(), m.offsets.end() - 1);
  for (std::size_t j = 0; j < row.size(); ++j) {
    auto at = next[row[j]]++;
    m.indices[at] = col[j];
    m.values[at] = value[j];
  }
  sort_rows(m);
  return m;
}

Csr transpose(const Csr& m) {
  Csr t;
  t.rows = m.cols;
  t.cols = m.rows;
  t.offsets.assign(static_cast<std::size_t>(t.rows) + 1, 0);
  for (auto c : m.indices) ++t.offsets[c + 1];
  for (std::uint32_t r = 0; r < t.rows; ++r) t.offsets[r + 1] += t.offsets[r];
  t.indices.resize(m.nnz());
  t.values.resize(m.nnz());
  // Counting sort by column, walking m's rows in order: each row of t lists
  // m's rows in ascending order, as build_csr sorts them.
  std::vector<std::uint64_t> next(t.offsets.begin(), t.offsets.end() - 1);
  for (std::uint32_t r = 0; r < m.rows; ++r)
    for (auto j = m.offsets[r]; j < m.offsets[r + 1]; ++j) {
      auto at = next[m.indices[j]]++;
      t.indices[at] = r;
      t.values[at] = m.values[j];
    }
  return t;
}

namespace {

// The implicit input c - 1 = alpha·f(r), times the user's normalisation factor
// when p.user_norm > 0, written to `out` (which may be `values` itself: each
// value is read before its weight is written). Returns the mean ratings per
// user the factors were computed from (0 without user_norm).
float confidence_weights(const ModelParams& p, std::uint32_t n_users, std::span<const std::uint32_t> users,
                         std::span<const float> values, std::span<float> out) {
  float mean = 0.0f;
  std::vector<float> scale;
  if (p.user_norm > 0.0f) {
    std::vector<std::uint32_t> count(n_users, 0);
    for (auto u : users)
      if (u < n_users) ++count[u];
    const auto rated = static_cast<std::size_t>(std::count_if(count.begin(), count.end(), [](auto c) { return c > 0; }));
    // A float, as stored: fold-in computes its scale from the same number.
    mean = rated ? static_cast<float>(static_cast<double>(users.size()) / static_cast<double>(rated)) : 0.0f;
    scale.assign(n_users, 1.0f);
    for (std::uint32_t u = 0; u < n_users; ++u) scale[u] = user_confidence_scale(p, mean, count[u]);
  }
  for (std::size_t j = 0; j < values.size(); ++j) {
    float w = confidence_excess(p.confidence, p.alpha, p.epsilon, values[j]);
    if (!scale.empty() && users[j] < n_users) w *= scale[users[j]];
    // A weight past float's range makes every solve that meets it NaN (or,
    // with --nonnegative, zero): say which value and option, before any fit.
    if (!std::isfinite(w))
      throw std::runtime_error(fmt::format(
          "the confidence weight of a stored value {:g} is not finite (alpha {:g} × f(r) with --confidence {} "
          "passes float's range): give a smaller --alpha, or --confidence log",
          values[j], p.alpha, to_string(p.confidence)));
    out[j] = w;
  }
  return mean;
}

void check_lengths(std::size_t users, std::size_t items, std::size_t values) {
  if (users != items || users != values)
    throw std::invalid_argument("build_rating_matrix: user, item and value arrays differ in length");
}

template <typename T>
void release(std::vector<T>& v) {
  std::vector<T>().swap(v);
}

}  // namespace

RatingMatrix build_rating_matrix(const ModelParams& p, std::uint32_t n_users, std::uint32_t n_items,
                                 std::span<const std::uint32_t> users, std::span<const std::uint32_t> items,
                                 std::span<const float> values) {
  check_lengths(users.size(), items.size(), values.size());
  RatingMatrix m;
  std::vector<float> weights;
  std::span<const float> stored = values;
  if (p.feedback == Feedback::Implicit) {
    weights.resize(values.size());
    m.mean_user_ratings = confidence_weights(p, n_users, users, values, weights);
    stored = weights;
  }
  m.by_user = build_csr(n_users, n_items, users, items, stored);
  m.by_item = transpose(m.by_user);
  return m;
}

RatingMatrix build_rating_matrix(const ModelParams& p, std::uint32_t n_users, std::uint32_t n_items,
                                 std::vector<std::uint32_t>&& users, std::vector<std::uint32_t>&& items,
                                 std::vector<float>&& values) {
  check_lengths(users.size(), items.size(), values.size());
  RatingMatrix m;
  if (p.feedback == Feedback::Implicit) m.mean_user_ratings = confidence_weights(p, n_users, users, values, values);
  m.by_user = build_csr(n_users, n_items, users, items, values);
  release(users);
  release(items);
  release(values);
  m.by_item = transpose(m.by_user);
  return m;
}

}  // namespace recsys::model
