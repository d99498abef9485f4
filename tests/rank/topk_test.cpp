#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "rank/popularity.hpp"
#include "rank/topk.hpp"

using namespace recsys;
using namespace recsys::rank;

namespace {

model::RowMatrixXf random_matrix(int rows, int cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d;
  model::RowMatrixXf m(rows, cols);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) m(r, c) = d(rng);
  return m;
}

std::vector<std::uint32_t> all_rows(std::uint32_t n) {
  std::vector<std::uint32_t> rows(n);
  std::iota(rows.begin(), rows.end(), 0u);
  return rows;
}

// Every score computed one by one in double, sorted, cut to k.
std::vector<std::uint32_t> brute_force(const model::RowMatrixXf& q, int row, const model::RowMatrixXf& t,
                                       const std::vector<std::uint32_t>& excluded, std::size_t k) {
  std::vector<std::pair<double, std::uint32_t>> all;
  for (int i = 0; i < t.rows(); ++i) {
    if (std::binary_search(excluded.begin(), excluded.end(), static_cast<std::uint32_t>(i))) continue;
    double s = 0;
    for (int f = 0; f < q.cols(); ++f) s += double(q(row, f)) * double(t(i, f));
    all.emplace_back(-s, static_cast<std::uint32_t>(i));
  }
  std::sort(all.begin(), all.end());
  std::vector<std::uint32_t> out;
  for (std::size_t i = 0; i < std::min(k, all.size()); ++i) out.push_back(all[i].second);
  return out;
}

std::vector<std::uint32_t> indexes(std::span<const Scored> s) {
  std::vector<std::uint32_t> out;
  for (const auto& e : s) out.push_back(e.index);
  return out;
}

}  // namespace

TEST_CASE("TopK keeps the k best, best first, lower index first on ties") {
  TopK top(3);
  const float scores[] = {0.5f, 2.0f, 1.0f, 2.0f, -1.0f, 1.5f};
  for (std::uint32_t i = 0; i < 6; ++i) top.push(i, scores[i]);
  std::vector<Scored> out;
  top.take_sorted(out);
  REQUIRE(indexes(out) == std::vector<std::uint32_t>{1, 3, 5});
  REQUIRE(out[0].score == 2.0f);
  REQUIRE(out[2].score == 1.5f);
}

TEST_CASE("TopK never selects NaN or infinite scores and handles k = 0 and short rows") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> row{nan, -inf, 0.25f, inf, 3.0f};
  TopK top(10);
  top.push_row(row.data(), row.size(), 100);
  std::vector<Scored> out;
  top.take_sorted(out);
  REQUIRE(indexes(out) == std::vector<std::uint32_t>{104, 102});
  TopK none(0);
  none.push_row(row.data(), row.size(), 0);
  none.take_sorted(out);
  REQUIRE(out.empty());
}

TEST_CASE("vectorised row scan selects what one-by-one pushes select") {
  std::mt19937 rng(3);
  std::normal_distribution<float> d;
  std::vector<float> row(1000);
  for (auto& x : row) x = d(rng);
  for (std::size_t k : {1u, 7u, 64u, 1000u, 2000u}) {
    TopK fast(k), slow(k);
    fast.push_row(row.data(), row.size(), 0);
    for (std::uint32_t i = 0; i < row.size(); ++i) slow.push(i, row[i]);
    std::vector<Scored> a, b;
    fast.take_sorted(a);
    slow.take_sorted(b);
    REQUIRE(indexes(a) == indexes(b));
    REQUIRE(a.size() == std::min<std::size_t>(k, row.size()));
  }
}

TEST_CASE("blocked products give the brute-force top-k with exclusions, for any block shape and thread count") {
  auto users = random_matrix(37, 8, 1);
  auto items = random_matrix(301, 8, 2);
  std::vector<std::vector<std::uint32_t>> seen(37);
  std::mt19937 rng(5);
  for (auto& s : seen) {
    for (std::uint32_t i = 0; i < 301; ++i)
      if (rng() % 4 == 0) s.push_back(i);
  }
  seen[3].resize(301);
  std::iota(seen[3].begin(), seen[3].end(), 0u);  // a user who rated everything gets nothing
  ExcludeFn exclude = [&](std::size_t r) { return std::span<const std::uint32_t>(seen[r]); };
  std::vector<std::uint32_t> rows{0, 3, 5, 36, 20, 7};
  for (auto [qb, tile, threads] : {std::tuple{1, 32, 1}, std::tuple{4, 100, 2}, std::tuple{64, 4096, 2}}) {
    BlockOptions o{10, static_cast<unsigned>(threads), static_cast<std::size_t>(qb), static_cast<std::size_t>(tile), {}, {}};
    auto lists = top_k_products(users, items, rows, exclude, o);
    REQUIRE(lists.counts.size() == rows.size());
    for (std::size_t p = 0; p < rows.size(); ++p) {
      REQUIRE(indexes(lists.row(p)) == brute_force(users, static_cast<int>(rows[p]), items, seen[rows[p]], 10));
    }
    REQUIRE(lists.row(1).empty());
  }
}

TEST_CASE("k larger than the catalogue returns every unexcluded target") {
  auto users = random_matrix(4, 5, 8);
  auto items = random_matrix(6, 5, 9);
  std::vector<std::uint32_t> ex{2, 4};
  auto lists = top_k_products(users, items, all_rows(4), [&](std::size_t) { return std::span<const std::uint32_t>(ex); },
                              BlockOptions{50, 2, 2, 32, {}, {}});
  for (std::size_t r = 0; r < 4; ++r) {
    REQUIRE(lists.row(r).size() == 4);
    REQUIRE(indexes(lists.row(r)) == brute_force(users, static_cast<int>(r), items, ex, 50));
  }
}

TEST_CASE("a single query ranks like the blocked products") {
  auto users = random_matrix(3, 16, 11);
  auto items = random_matrix(500, 16, 12);
  std::vector<std::uint32_t> ex{1, 10, 499};
  auto lists = top_k_products(users, items, all_rows(3), [&](std::size_t) { return std::span<const std::uint32_t>(ex); },
                              BlockOptions{20, 1, 64, 128, {}, {}});
  for (int r = 0; r < 3; ++r) {
    auto one = top_k_single(std::span<const float>(users.row(r).data(), 16), items, ex, 20);
    REQUIRE(indexes(one) == indexes(lists.row(static_cast<std::size_t>(r))));
  }
  REQUIRE_THROWS(top_k_single(std::span<const float>(users.row(0).data(), 8), items, ex, 20));
}

TEST_CASE("products of matrices of different widths are refused") {
  auto a = random_matrix(2, 4, 1);
  auto b = random_matrix(3, 5, 2);
  REQUIRE_THROWS_AS(top_k_products(a, b, all_rows(1), nullptr, BlockOptions{}), std::invalid_argument);
}

// An empty selection once meant every row: precompute, finding no item with
// factors (all zero), then stored every item's "similar" list, scored 0, in
// place of its fallback.
TEST_CASE("an empty selection of rows ranks nothing") {
  auto users = random_matrix(5, 4, 1);
  auto items = random_matrix(7, 4, 2);
  auto lists = top_k_products(users, items, {}, nullptr, BlockOptions{});
  CHECK(lists.counts.empty());
  CHECK(lists.entries.empty());
}

TEST_CASE("normalised rows have unit length and zero rows stay zero") {
  auto m = random_matrix(5, 7, 4);
  m.row(2).setZero();
  auto n = normalized_rows(m);
  for (int r = 0; r < 5; ++r) {
    if (r == 2) REQUIRE(n.row(r).isZero());
    else REQUIRE(n.row(r).norm() == Approx(1.0f).epsilon(1e-5));
  }
}

TEST_CASE("popularity ranks by rating count and leaves out unrated items") {
  std::vector<std::uint32_t> counts{3, 0, 9, 3, 1};
  auto top = most_popular(counts, 10);
  REQUIRE(indexes(top) == std::vector<std::uint32_t>{2, 0, 3, 4});
  REQUIRE(top[0].score == 9.0f);
  REQUIRE(most_popular(counts, 2).size() == 2);
}

// recsys tune's scoring ends with its budget: keep_going is asked before each
// block, and once it says no the products stop and throw.
TEST_CASE("keep_going stops the blocked products between blocks, and changes nothing while it says yes") {
  auto users = random_matrix(200, 8, 21);
  auto items = random_matrix(300, 8, 22);
  const auto rows = all_rows(200);
  const auto plain = top_k_products(users, items, rows, nullptr, BlockOptions{10, 2, 4, 64, {}, {}});
  std::atomic<int> asked{0};
  BlockOptions always{10, 2, 4, 64, [&] { return ++asked, true; }, {}};
  const auto kept = top_k_products(users, items, rows, nullptr, always);
  CHECK(asked.load() == 50);  // 200 rows in blocks of 4
  CHECK(kept.entries.size() == plain.entries.size());
  for (std::size_t r = 0; r < 200; ++r) REQUIRE(indexes(kept.row(r)) == indexes(plain.row(r)));
  for (unsigned threads : {1u, 2u}) {
    std::atomic<int> left{7};
    BlockOptions stopping{10, threads, 4, 64, [&] { return left.fetch_sub(1) > 0; }, {}};
    REQUIRE_THROWS_AS(top_k_products(users, items, rows, nullptr, stopping), ProductsStopped);
    CHECK(left.load() <= 0);
    CHECK(left.load() > -1 - static_cast<int>(threads));  // no block asked again after the first no, per worker
  }
}
