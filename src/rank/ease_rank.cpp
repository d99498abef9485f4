#include "rank/ease_rank.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "model/ease.hpp"
#include "util/parallel.hpp"

namespace recsys::rank {

namespace {

// Scores of one row with its excluded items set to -inf, pushed into `top`.
// A row whose every other score is exactly 0 pushes nothing: x_u·B says
// nothing about this user (their items co-occur with no item they have not
// rated), as a zero factor row says nothing in ALS, and a list of zeros would
// only be the items in index order.
void select(std::span<float> scores, std::span<const std::uint32_t> excluded, TopK& top) {
  for (auto e : excluded)
    if (e < scores.size()) scores[e] = -std::numeric_limits<float>::infinity();
  bool informative = std::any_of(scores.begin(), scores.end(), [](float s) { return s != 0.0f && std::isfinite(s); });
  if (informative) top.push_row(scores.data(), scores.size(), 0);
}

bool any_in_model(std::span<const std::uint32_t> items, std::size_t n) {
  return std::any_of(items.begin(), items.end(), [n](std::uint32_t i) { return i < n; });
}

}  // namespace

TopKLists top_k_ease(const model::Csr& x, const model::RowMatrixXf& b, std::span<const std::uint32_t> rows,
                     const ExcludeFn& exclude, const BlockOptions& options) {
  const std::size_t n_rows = rows.size();
  const std::size_t n = static_cast<std::size_t>(b.cols());
  const std::size_t k = std::min<std::size_t>(options.k, n);  // a list holds each item at most once
  TopKLists out;
  out.k = k;
  out.entries.resize(n_rows * k);
  out.counts.assign(n_rows, 0);
  if (k == 0 || n_rows == 0 || n == 0) return out;
  struct Scratch {
    std::vector<float> scores;
    TopK top;
    std::vector<Scored> sorted;
  };
  const unsigned threads = std::max(1u, options.threads);
  std::vector<Scratch> scratch(threads);
  for (auto& s : scratch) {
    s.scores.resize(n);
    s.top.reset(k);
  }
  parallel_dynamic(n_rows, threads, 64, [&](std::size_t p0, std::size_t p1, unsigned worker) {
    Scratch& s = scratch[worker];
    for (std::size_t p = p0; p < p1; ++p) {
      const auto row = rows[p];
      auto items = x.row_indices(row);
      if (!any_in_model(items, n)) continue;  // all-zero scores rank nothing
      model::ease_scores(b, items, x.row_values(row), s.scores);
      select(s.scores, exclude ? exclude(row) : std::span<const std::uint32_t>{}, s.top);
      s.top.take_sorted(s.sorted);
      std::copy(s.sorted.begin(), s.sorted.end(), out.entries.begin() + static_cast<std::ptrdiff_t>(p * k));
      out.counts[p] = static_cast<std::uint32_t>(s.sorted.size());
    }
  });
  return out;
}

std::vector<Scored> top_k_ease_single(const model::RowMatrixXf& b, std::span<const std::uint32_t> items,
                                      std::span<const float> x, std::size_t k) {
  std::vector<Scored> out;
  const std::size_t n = static_cast<std::size_t>(b.cols());
  if (k == 0 || !any_in_model(items, n)) return out;
  std::vector<float> scores(n);
  model::ease_scores(b, items, x, scores);
  TopK top(k);
  select(scores, items, top);
  top.take_sorted(out);
  return out;
}

TopKLists ease_similar(const model::RowMatrixXf& b, std::span<const std::uint32_t> rows, const BlockOptions& options) {
  // Item i as a one-item user: x = e_i.
  model::Csr unit;
  unit.rows = unit.cols = static_cast<std::uint32_t>(b.rows());
  unit.offsets.resize(unit.rows + std::size_t{1});
  std::iota(unit.offsets.begin(), unit.offsets.end(), std::uint64_t{0});
  unit.indices.resize(unit.rows);
  std::iota(unit.indices.begin(), unit.indices.end(), 0u);
  unit.values.assign(unit.rows, 1.0f);
  return top_k_ease(unit, b, rows, [&](std::size_t i) { return unit.row_indices(static_cast<std::uint32_t>(i)); },
                    options);
}

}  // namespace recsys::rank
