#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "list_json.hpp"
#include "model/fold_in.hpp"
#include "process.hpp"
#include "rank/precompute.hpp"
#include "rank/realtime.hpp"
#include "small_db.hpp"
#include "store/cache.hpp"
#include "store/ids.hpp"
#include "store/models.hpp"
#include "store/ratings.hpp"
#include "temp_dir.hpp"

using namespace recsys;

namespace {

std::string body_of(const store::ListView& list, std::string_view id, std::size_t k = 1000) {
  std::string out;
  store::append_body(out, "user", id, list, k);
  return out;
}

std::vector<std::string> names_of(const test::SmallDb& s, const std::vector<std::uint32_t>& items) {
  std::vector<std::string> out;
  for (auto i : items) out.push_back(s.items[i]);
  return out;
}

rank::PrecomputeReport run(store::Database& db, std::size_t k, unsigned threads = 2) {
  rank::PrecomputeOptions o;
  o.k = k;
  o.threads = threads;
  o.query_block = 8;  // several blocks even on small data
  o.target_tile = 32;
  return rank::precompute(db, o);
}

}  // namespace

TEST_CASE("precompute stores every user's brute-force top-k of unseen items") {
  test::TempDir dir;
  auto s = test::make_small_db(dir / "db", 40, 70, 1);
  auto db = test::open_db(dir / "db");
  auto report = run(db, 5);
  REQUIRE(report.generation == s.generation);
  REQUIRE(report.user_lists == 39);  // the last user has no ratings
  auto txn = db.begin_read();
  for (std::uint32_t u = 0; u + 1 < s.users.size(); ++u) {
    auto list = store::get_list(db, txn, store::CacheTable::UserRecs, s.users[u]);
    REQUIRE(list);
    auto body = test::parse_body(body_of(*list, s.users[u]));
    REQUIRE(body.source == "model");
    REQUIRE(body.model == s.generation);
    auto expected = test::brute_force_user(s, u, 5);
    REQUIRE(test::item_names(body) == names_of(s, expected));
    for (std::size_t r = 0; r < expected.size(); ++r) {
      double score = s.user_factors.row(u).dot(s.item_factors.row(expected[r]));
      REQUIRE(body.items[r].second == Approx(score).epsilon(1e-3).margin(1e-4));
    }
  }
  REQUIRE(store::serving_generation(db, txn) == s.generation);
  REQUIRE(store::cache_k(db, txn) == 5u);
}

TEST_CASE("users with ratings but no factor row in the model get a fold-in list at precompute") {
  test::TempDir dir;
  auto s = test::make_small_db(dir / "db", 40, 70, 1);
  auto db = test::open_db(dir / "db");
  // A user created after the model was trained (by events, or an --append import).
  std::vector<store::RatingRecord> rated{{3, 1.0f, 0}, {8, 1.0f, 0}, {21, 1.0f, 0}};
  db.write([&](store::Txn& txn) {
    auto user = store::get_or_add_index(db, txn, store::IdKind::User, "newbie");
    REQUIRE(user == s.users.size());
    store::merge_user_ratings(db, txn, user, rated, store::DuplicatePolicy::Sum);
  });
  auto report = run(db, 5);
  REQUIRE(report.refreshed_users == 1);
  REQUIRE(report.user_lists == 40);
  auto txn = db.begin_read();
  auto list = store::get_list(db, txn, store::CacheTable::UserRecs, "newbie");
  REQUIRE(list);
  auto body = test::parse_body(body_of(*list, "newbie"));
  REQUIRE(body.source == "model");
  REQUIRE(body.model == s.generation);
  REQUIRE(body.items.size() == 5);
  for (const auto& [item, score] : body.items) {
    REQUIRE(item != s.items[3]);
    REQUIRE(item != s.items[8]);
    REQUIRE(item != s.items[21]);
  }
  // Its factor row is stored with the generation, as an event's fold-in would.
  REQUIRE(store::load_factor_row(db, txn, s.generation, store::Side::Users, static_cast<std::uint32_t>(s.users.size())));
}

TEST_CASE("users whose ratings changed since the model was trained are ranked with factors folded in from them") {
  test::TempDir dir;
  auto s = test::make_small_db(dir / "db", 40, 70, 1);
  auto db = test::open_db(dir / "db");
  const auto params = rank::params_of_description(test::model_description());
  const Eigen::MatrixXf gram = model::item_gram(s.item_factors);
  // Fold-in from a user's stored ratings, as the server does for an event.
  auto fold_in = [&](std::uint32_t u) {
    std::vector<std::uint32_t> items;
    std::vector<float> values;
    auto txn = db.begin_read();
    for (const auto& r : store::get_user_ratings(db, txn, u)) {
      items.push_back(r.item);
      values.push_back(r.value);
    }
    return model::fold_in_user(params, s.item_factors, gram, items, values);
  };
  // The top 5 of `factors` over the items user u has not rated (s.seen).
  auto list_of = [&](std::uint32_t u, const Eigen::VectorXf& factors) {
    test::SmallDb with = s;
    with.user_factors.row(u) = factors.transpose();
    return names_of(s, test::brute_force_user(with, u, 5));
  };
  auto add_late = [&](std::uint32_t u, std::uint32_t how_many) {
    std::vector<store::RatingRecord> late;
    for (std::uint32_t i = 0; i + 1 < s.items.size() && late.size() < how_many; ++i)
      if (!std::binary_search(s.seen[u].begin(), s.seen[u].end(), i)) late.push_back({i, 5.0f, 2000});
    db.write([&](store::Txn& txn) { store::merge_user_ratings(db, txn, u, late, store::DuplicatePolicy::LastWins); });
    for (const auto& r : late) s.seen[u].push_back(r.item);
    std::sort(s.seen[u].begin(), s.seen[u].end());
  };

  // A user the model did not know, folded in by an event after training (its
  // row is stored with the generation), who then rated more without the server.
  const auto newcomer = static_cast<std::uint32_t>(s.users.size());
  db.write([&](store::Txn& txn) {
    REQUIRE(store::get_or_add_index(db, txn, store::IdKind::User, "newcomer") == newcomer);
    std::vector<store::RatingRecord> first{{3, 4.0f, 10}, {8, 2.0f, 10}};
    store::put_user_ratings(db, txn, newcomer, first);
  });
  s.users.push_back("newcomer");
  s.seen.push_back({3, 8});
  s.user_factors.conservativeResize(s.user_factors.rows() + 1, Eigen::NoChange);
  const Eigen::VectorXf event_row = fold_in(newcomer);
  s.user_factors.row(newcomer) = event_row.transpose();
  db.write([&](store::Txn& txn) {
    store::put_factor_row(db, txn, s.generation, store::Side::Users, newcomer,
                          std::span<const float>(event_row.data(), static_cast<std::size_t>(event_row.size())));
  });

  const bool with_fingerprints = GENERATE(true, false);
  if (with_fingerprints) {
    // What train stores with a model fitted on every rating: the fingerprints
    // of its snapshot (which did not hold the newcomer).
    std::vector<std::uint64_t> fingerprints(s.users.size() - 1, 0);
    auto txn = db.begin_read();
    store::for_each_user_ratings(db, txn, [&](std::uint32_t u, std::span<const store::RatingRecord> records) {
      if (u < fingerprints.size()) fingerprints[u] = store::ratings_fingerprint(records);
    });
    txn.abort();
    db.write([&](store::Txn& w) { store::put_user_fingerprints(db, w, s.generation, fingerprints); });
  }
  // Users 5 to 9 rate more after training (events while train ran), enough of
  // them for several fold-in threads; user 10's ratings are removed.
  const std::vector<std::uint32_t> changed{5, 6, 7, 8, 9, newcomer};
  for (std::uint32_t u : changed) add_late(u, 3);
  const std::uint32_t emptied = 10;
  db.write([&](store::Txn& txn) { store::put_user_ratings(db, txn, emptied, {}); });

  std::map<std::uint32_t, std::vector<std::string>> expected, stale;
  for (std::uint32_t u : changed) {
    expected[u] = list_of(u, fold_in(u));
    stale[u] = list_of(u, s.user_factors.row(u).transpose());
    INFO("user " << u);
    REQUIRE(expected[u] != stale[u]);  // otherwise this test could not tell them apart
  }

  auto report = run(db, 5);
  auto txn = db.begin_read();
  auto body_for = [&](std::uint32_t u) {
    return test::parse_body(body_of(*store::get_list(db, txn, store::CacheTable::UserRecs, s.users[u]), s.users[u]));
  };
  for (std::uint32_t u : changed) {
    INFO("user " << u);
    auto body = body_for(u);
    REQUIRE(body.source == "model");
    // Without fingerprints (a model from before them, imported, or fitted on a
    // split) nothing tells that the ratings changed: the stored factors rank.
    REQUIRE(test::item_names(body) == (with_fingerprints ? expected[u] : stale[u]));
  }
  // Ratings gone: no list of its own (the shared fallback answers, as for a
  // user without ratings), not one from the factors of the old ratings.
  REQUIRE(store::get_list(db, txn, store::CacheTable::UserRecs, s.users[emptied]).has_value() == !with_fingerprints);
  REQUIRE(report.changed_users == (with_fingerprints ? changed.size() + 1 : 0u));
  // Everyone else keeps the trained factors.
  for (std::uint32_t u : {0u, 11u, 17u}) REQUIRE(test::item_names(body_for(u)) == names_of(s, test::brute_force_user(s, u, 5)));
}

TEST_CASE("users without ratings and unknown users get the most-rated items as fallback") {
  test::TempDir dir;
  auto s = test::make_small_db(dir / "db", 12, 20, 2);
  auto db = test::open_db(dir / "db");
  run(db, 4);
  auto txn = db.begin_read();
  REQUIRE_FALSE(store::get_list(db, txn, store::CacheTable::UserRecs, s.users.back()));
  for (std::string id : {s.users.back(), std::string("nobody"), std::string("u\xC3\xA9")}) {
    auto list = store::user_list(db, txn, id);
    REQUIRE(list);
    auto body = test::parse_body(body_of(*list, id));
    REQUIRE(body.source == "fallback");
    REQUIRE(body.id == id);
    REQUIRE(body.items.size() == 4);
    for (std::size_t r = 0; r < body.items.size(); ++r) {
      auto idx = static_cast<std::size_t>(std::find(s.items.begin(), s.items.end(), body.items[r].first) - s.items.begin());
      REQUIRE(body.items[r].second == s.item_counts[idx]);
      if (r > 0) REQUIRE(body.items[r].second <= body.items[r - 1].second);
    }
  }
}

TEST_CASE("similar items are the brute-force cosine neighbours, never the item itself") {
  test::TempDir dir;
  auto s = test::make_small_db(dir / "db", 10, 30, 3);
  auto db = test::open_db(dir / "db");
  run(db, 6);
  auto txn = db.begin_read();
  for (std::uint32_t i = 0; i < s.items.size(); ++i) {
    auto list = store::similar_list(db, txn, s.items[i]);
    REQUIRE(list);
    auto body = test::parse_body(body_of(*list, s.items[i]));
    std::vector<std::pair<double, std::uint32_t>> all;
    for (std::uint32_t j = 0; j < s.items.size(); ++j) {
      if (j == i) continue;
      double cos = s.item_factors.row(i).dot(s.item_factors.row(j)) /
                   (double(s.item_factors.row(i).norm()) * s.item_factors.row(j).norm());
      all.emplace_back(-cos, j);
    }
    std::sort(all.begin(), all.end());
    std::vector<std::uint32_t> expected;
    for (int r = 0; r < 6; ++r) expected.push_back(all[r].second);
    REQUIRE(test::item_names(body) == names_of(s, expected));
    REQUIRE(body.items[0].second == Approx(-all[0].first).epsilon(1e-3));
  }
  REQUIRE_FALSE(store::similar_list(db, txn, "no such item"));
}

TEST_CASE("k larger than the catalogue lists every unseen item; seen items never appear") {
  test::TempDir dir;
  auto s = test::make_small_db(dir / "db", 8, 15, 4);
  auto db = test::open_db(dir / "db");
  run(db, 1000, 1);
  auto txn = db.begin_read();
  for (std::uint32_t u = 0; u + 1 < s.users.size(); ++u) {
    auto body = test::parse_body(body_of(*store::user_list(db, txn, s.users[u]), s.users[u]));
    REQUIRE(body.items.size() == s.items.size() - s.seen[u].size());
    auto names = test::item_names(body);
    for (auto i : s.seen[u]) REQUIRE(std::find(names.begin(), names.end(), s.items[i]) == names.end());
  }
}

TEST_CASE("a new precompute replaces the whole cache with the new generation; --model picks an older one") {
  test::TempDir dir;
  auto s = test::make_small_db(dir / "db", 20, 25, 5);
  auto db = test::open_db(dir / "db");
  run(db, 3);
  auto first = s.generation;
  auto second = test::add_generation(db, s, 77);
  run(db, 3);
  auto check_all = [&](std::uint32_t gen) {
    auto txn = db.begin_read();
    REQUIRE(store::serving_generation(db, txn) == gen);
    for (const auto& id : s.users) REQUIRE(store::user_list(db, txn, id)->header().generation == gen);
    for (const auto& id : s.items) REQUIRE(store::similar_list(db, txn, id)->header().generation == gen);
  };
  check_all(second);
  rank::PrecomputeOptions o;
  o.generation = first;
  rank::precompute(db, o);
  check_all(first);
  o.generation = 99;
  REQUIRE_THROWS_WITH(rank::precompute(db, o), Catch::Contains("no model generation 99"));
}

TEST_CASE("precompute without a trained model says to train first") {
  test::TempDir dir;
  auto db = test::open_db(dir / "db", store::OpenMode::Create);
  REQUIRE_THROWS_WITH(rank::precompute(db, rank::PrecomputeOptions{}), Catch::Contains("recsys train"));
}

TEST_CASE("recsys precompute, recommend and similar answer from the same cache") {
  test::TempDir dir;
  auto s = test::make_small_db(dir / "db", 15, 30, 6);
  std::string db = (dir / "db").string();
  auto pre = test::run_recsys({"--db", db, "precompute", "--k", "4"}, dir);
  REQUIRE(pre.status == 0);
  REQUIRE_THAT(pre.out, Catch::Contains("serving generation 1"));
  auto rec = test::run_recsys({"--db", db, "recommend", s.users[1], "--k", "3", "--json"}, dir);
  REQUIRE(rec.status == 0);
  auto body = test::parse_body(rec.out);
  REQUIRE(body.id == s.users[1]);
  REQUIRE(test::item_names(body) == names_of(s, test::brute_force_user(s, 1, 3)));
  auto table = test::run_recsys({"--db", db, "recommend", "stranger"}, dir);
  REQUIRE(table.status == 0);
  REQUIRE_THAT(table.out, Catch::Contains("fallback"));
  auto all = test::run_recsys({"--db", db, "recommend", "--all", "--json"}, dir);
  REQUIRE(all.status == 0);
  REQUIRE(std::count(all.out.begin(), all.out.end(), '\n') == static_cast<long>(s.users.size()));
  auto sim = test::run_recsys({"--db", db, "similar", s.items[1], "--json"}, dir);
  REQUIRE(sim.status == 0);
  REQUIRE(test::parse_body(sim.out, "item").items.size() == 4);
  REQUIRE(test::run_recsys({"--db", db, "similar", "nope"}, dir).status == 1);
  REQUIRE(test::run_recsys({"--db", db, "recommend"}, dir).status == 2);
  REQUIRE(test::run_recsys({"--db", db, "precompute", "--k", "0"}, dir).status == 2);
}

TEST_CASE("kill -9 during precompute leaves the previous cache serving, whole") {
  test::TempDir dir;
  auto s = test::make_small_db(dir / "db", 1500, 400, 7);
  std::string db = (dir / "db").string();
  REQUIRE(test::run_recsys({"--db", db, "precompute", "--k", "20"}, dir).status == 0);
  {
    auto handle = test::open_db(dir / "db");
    test::add_generation(handle, s, 99);
  }
  // Kill at several points of the run; every time the cache is one generation, whole.
  for (int delay_ms : {0, 5, 20, 60}) {
    test::Process p({test::recsys_bin(), "--db", db, "precompute", "--k", "20"}, dir.path());
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    p.signal(SIGKILL);
    p.wait();
    auto handle = test::open_db(dir / "db", store::OpenMode::ReadOnly);
    auto txn = handle.begin_read();
    auto gen = store::serving_generation(handle, txn);
    REQUIRE(gen);
    REQUIRE(store::cache_entries(handle, txn, store::CacheTable::UserRecs) == 1499);
    for (std::size_t u = 0; u < s.users.size(); u += 97) {
      REQUIRE(store::user_list(handle, txn, s.users[u])->header().generation == *gen);
    }
  }
}

namespace {

// Stores a generation with the given factors (rows as in `s`); returns its number.
std::uint32_t save_generation(store::Database& db, const model::RowMatrixXf& users, const model::RowMatrixXf& items) {
  return db.write([&](store::Txn& txn) {
    return store::save_model(db, txn, test::model_description(), test::to_factor_matrix(users),
                             test::to_factor_matrix(items));
  });
}

// The shared fallback ranking of the small database: most-rated first, ties
// to the lower index; items nobody rated left out.
std::vector<std::uint32_t> popularity_ranking(const test::SmallDb& s) {
  std::vector<std::uint32_t> order;
  for (std::uint32_t i = 0; i < s.items.size(); ++i)
    if (s.item_counts[i] > 0) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return s.item_counts[a] > s.item_counts[b]; });
  return order;
}

}  // namespace

TEST_CASE("a user with a non-zero factor row but no stored ratings gets a model list") {
  test::TempDir dir;
  auto s = test::make_small_db(dir / "db", 12, 20, 8);
  auto db = test::open_db(dir / "db");
  std::mt19937 rng(3);
  s.user_factors.row(11) = test::random_factors(1, 8, rng).row(0);  // user 11 has no ratings
  s.generation = save_generation(db, s.user_factors, s.item_factors);
  auto report = run(db, 4);
  REQUIRE(report.user_lists == 12);
  auto txn = db.begin_read();
  auto list = store::get_list(db, txn, store::CacheTable::UserRecs, s.users[11]);
  REQUIRE(list);
  auto body = test::parse_body(body_of(*list, s.users[11]));
  REQUIRE(body.source == "model");
  REQUIRE(test::item_names(body) == names_of(s, test::brute_force_user(s, 11, 4)));
}

TEST_CASE("a user whose rated items the model lacks gets the fallback without them") {
  test::TempDir dir;
  auto s = test::make_small_db(dir / "db", 12, 20, 9);
  auto db = test::open_db(dir / "db");
  // Item "extra" (index 20) arrived after training and is now the most rated;
  // "late" rated only it, so fold-in has nothing to solve with.
  std::uint32_t late = 0;
  db.write([&](store::Txn& txn) {
    REQUIRE(store::get_or_add_index(db, txn, store::IdKind::Item, "extra") == 20);
    late = store::get_or_add_index(db, txn, store::IdKind::User, "late");
    store::RatingRecord r{20, 1.0f, 7};
    for (std::uint32_t u : {0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, late}) {
      store::merge_user_ratings(db, txn, u, std::span<const store::RatingRecord>(&r, 1), store::DuplicatePolicy::Sum);
    }
  });
  run(db, 4);
  auto ranking = popularity_ranking(s);
  auto txn = db.begin_read();
  auto shared = test::parse_body(body_of(*store::user_list(db, txn, "stranger"), "stranger"));
  REQUIRE(shared.items.at(0).first == "extra");
  REQUIRE(shared.items.at(0).second == 11);
  auto body = test::parse_body(body_of(*store::user_list(db, txn, "late"), "late"));
  REQUIRE(body.source == "fallback");
  std::vector<std::uint32_t> expected(ranking.begin(), ranking.begin() + 4);
  REQUIRE(test::item_names(body) == names_of(s, expected));
  for (std::size_t r = 0; r < expected.size(); ++r) REQUIRE(body.items[r].second == s.item_counts[expected[r]]);
  // Its factor row is stored as zero, as an event's fold-in would leave it.
  auto row = store::load_factor_row(db, txn, s.generation, store::Side::Users, late);
  REQUIRE(row);
  for (float x : *row) REQUIRE(x == 0.0f);
}

TEST_CASE("with no ratings stored the fallback ranks items by the length of their factors") {
  test::TempDir dir;
  auto s = test::make_small_db(dir / "db", 6, 9, 10);
  auto db = test::open_db(dir / "db");
  db.write([&](store::Txn& txn) { store::clear_ratings(db, txn); });
  s.item_factors.row(4).setZero();  // an item without factors is never listed
  s.generation = save_generation(db, s.user_factors, s.item_factors);
  run(db, 20);
  std::vector<std::pair<float, std::uint32_t>> by_norm;
  for (std::uint32_t i = 0; i < s.items.size(); ++i)
    if (i != 4) by_norm.emplace_back(-s.item_factors.row(i).norm(), i);
  std::sort(by_norm.begin(), by_norm.end());
  auto txn = db.begin_read();
  auto body = test::parse_body(body_of(*store::user_list(db, txn, "stranger"), "stranger"));
  REQUIRE(body.source == "fallback");
  REQUIRE(body.items.size() == s.items.size() - 1);
  for (std::size_t r = 0; r < by_norm.size(); ++r) {
    REQUIRE(body.items[r].first == s.items[by_norm[r].second]);
    REQUIRE(body.items[r].second == Approx(-by_norm[r].first).epsilon(1e-3));
  }
}
