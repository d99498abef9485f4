// Top-k by EASE scores (rank/ease_rank.hpp) against a brute-force ranking of
// x_u·B, with exclusions, items outside B, and any thread count.
// GCC 12 false positive inside its AVX-512 intrinsics (see src/model/meson.build).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "model/ease.hpp"
#include "rank/ease_rank.hpp"
#include "util/random.hpp"

using namespace recsys;

namespace {

struct Fixture {
  model::Csr x;
  model::RowMatrixXf b;
  Fixture() {
    SplitMix rng(9);
    std::vector<std::uint32_t> u, i;
    std::vector<float> v;
    // 50 users over 40 items; the model knows items 0..34 only (35..39 are newer).
    for (std::uint32_t a = 0; a < 50; ++a)
      for (std::uint32_t c = 0; c < 40; ++c)
        if (rng.uniform() < 0.2) {
          u.push_back(a);
          i.push_back(c);
          v.push_back(1.0f);
        }
    x = model::build_csr(50, 40, u, i, v);
    std::vector<std::uint32_t> ku, ki;
    std::vector<float> kv;
    for (std::size_t j = 0; j < u.size(); ++j)
      if (i[j] < 35) ku.push_back(u[j]), ki.push_back(i[j]), kv.push_back(1.0f);
    model::EaseParams p;
    p.lambda = 3.0f;
    b = model::fit_ease(p, model::build_csr(50, 35, ku, ki, kv), 1);
  }
};

// All unrated items of B by x_u·B, best first (ties: lower index).
std::vector<rank::Scored> brute_force(const Fixture& f, std::uint32_t user, std::size_t k) {
  std::vector<float> scores(static_cast<std::size_t>(f.b.cols()));
  model::ease_scores(f.b, f.x.row_indices(user), f.x.row_values(user), scores);
  std::vector<rank::Scored> all;
  auto rated = f.x.row_indices(user);
  for (std::uint32_t j = 0; j < scores.size(); ++j)
    if (!std::binary_search(rated.begin(), rated.end(), j)) all.push_back({j, scores[j]});
  std::sort(all.begin(), all.end(), rank::ranks_before);
  all.resize(std::min(all.size(), k));
  return all;
}

}  // namespace

TEST_CASE("EASE top-k is the brute-force ranking of x_u·B without the rated items, for any thread count", "[ease]") {
  Fixture f;
  std::vector<std::uint32_t> rows{0, 3, 7, 10, 11, 12, 25, 49};
  for (unsigned threads : {1u, 2u, 3u}) {
    rank::BlockOptions o;
    o.k = 6;
    o.threads = threads;
    auto lists = rank::top_k_ease(f.x, f.b, rows,
                                  [&](std::size_t u) { return f.x.row_indices(static_cast<std::uint32_t>(u)); }, o);
    for (std::size_t p = 0; p < rows.size(); ++p) {
      auto expected = brute_force(f, rows[p], o.k);
      auto got = lists.row(p);
      REQUIRE(got.size() == expected.size());
      for (std::size_t r = 0; r < got.size(); ++r) {
        REQUIRE(got[r].index == expected[r].index);
        REQUIRE(got[r].score == expected[r].score);  // the same sum in the same order: exact
        REQUIRE(got[r].index < 35);                  // never an item outside B
      }
      auto single = rank::top_k_ease_single(f.b, f.x.row_indices(rows[p]), f.x.row_values(rows[p]), o.k);
      REQUIRE(single.size() == got.size());
      for (std::size_t r = 0; r < got.size(); ++r) REQUIRE(single[r].index == got[r].index);
    }
  }
}

TEST_CASE("EASE similar items are the rows of B without the item itself", "[ease]") {
  Fixture f;
  rank::BlockOptions o;
  o.k = 4;
  std::vector<std::uint32_t> items{0, 5, 34};
  auto lists = rank::ease_similar(f.b, items, o);
  for (std::size_t p = 0; p < items.size(); ++p) {
    std::vector<rank::Scored> row;
    for (std::uint32_t j = 0; j < f.b.cols(); ++j)
      if (j != items[p]) row.push_back({j, f.b(items[p], j)});
    std::sort(row.begin(), row.end(), rank::ranks_before);
    auto got = lists.row(p);
    REQUIRE(got.size() == 4);
    for (std::size_t r = 0; r < got.size(); ++r) {
      REQUIRE(got[r].index == row[r].index);
      REQUIRE(got[r].score == row[r].score);
    }
  }
}

TEST_CASE("a user whose items are all outside B gets no EASE list", "[ease]") {
  Fixture f;
  std::vector<std::uint32_t> u{0, 0}, i{36, 38};
  std::vector<float> v{1.0f, 1.0f};
  model::Csr only_new = model::build_csr(1, 40, u, i, v);
  rank::BlockOptions o;
  o.k = 5;
  auto lists = rank::top_k_ease(only_new, f.b, std::vector<std::uint32_t>{0}, {}, o);
  REQUIRE(lists.row(0).empty());
  CHECK(rank::top_k_ease(only_new, f.b, {}, {}, o).counts.empty());  // an empty selection ranks nothing
  REQUIRE(rank::top_k_ease_single(f.b, only_new.row_indices(0), only_new.row_values(0), 5).empty());
}

TEST_CASE("x_u·B that is 0 on every unrated item gives no EASE list; zeros beside non-zero scores still rank",
          "[ease]") {
  // Items 0 and 1 co-occur only with each other, item 2 with nothing; 3 and 4
  // with each other, with a negative weight towards item 5.
  model::RowMatrixXf b = model::RowMatrixXf::Zero(6, 6);
  b(0, 1) = b(1, 0) = 0.5f;
  b(3, 4) = b(4, 3) = 0.25f;
  b(3, 5) = -0.5f;
  auto lists_of = [&](std::vector<std::uint32_t> items) {
    std::vector<std::uint32_t> u(items.size(), 0);
    std::vector<float> v(items.size(), 1.0f);
    model::Csr x = model::build_csr(1, 6, u, items, v);
    rank::BlockOptions o;
    o.k = 3;
    auto batch = rank::top_k_ease(x, b, std::vector<std::uint32_t>{0}, [&](std::size_t) { return x.row_indices(0); }, o);
    auto single = rank::top_k_ease_single(b, x.row_indices(0), x.row_values(0), 3);
    auto row = batch.row(0);
    REQUIRE(single.size() == row.size());
    for (std::size_t r = 0; r < row.size(); ++r) REQUIRE(single[r].index == row[r].index);
    return single;
  };
  REQUIRE(lists_of({2}).empty());     // a row of B that is all 0
  REQUIRE(lists_of({0, 1}).empty());  // its only non-zero weight is on a rated item
  // A non-zero score among zeros: a list, the zeros ranked in index order after it.
  auto one = lists_of({0});
  REQUIRE(one.size() == 3);
  REQUIRE(one[0].index == 1);
  REQUIRE(one[0].score == 0.5f);
  REQUIRE(one[1].index == 2);
  REQUIRE(one[1].score == 0.0f);
  // Only a negative score besides zeros: still information (item 5 ranks last).
  auto negative = lists_of({3, 4});
  REQUIRE(negative.size() == 3);
  REQUIRE(negative[0].score == 0.0f);
  REQUIRE(negative[0].index == 0);
  REQUIRE(negative[2].index == 2);
}
