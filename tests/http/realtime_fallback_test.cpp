// Real-time lists when fold-in has nothing to work with, and fold-in of a
// model imported from Spark: the real server and database.
// GCC 12 false positive inside its AVX-512 intrinsics (see src/model/meson.build).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "../rank/list_json.hpp"
#include "../rank/small_db.hpp"
#include "client.hpp"
#include "served_db.hpp"
#include "store/cache.hpp"
#include "store/candidates.hpp"
#include "store/ids.hpp"
#include "store/models.hpp"
#include "store/ratings.hpp"

using namespace recsys;
using test::Connection;

namespace {

// The small database plus an item "extra" that the model lacks (its ratings
// arrived after training) but that users 0-9 rated, making it the most popular.
struct WithExtraItem {
  test::TempDir dir;
  test::SmallDb s;
  std::string db;
  WithExtraItem() {
    db = (dir / "db").string();
    s = test::make_small_db(dir / "db", 20, 30, 21);
    auto handle = test::open_db(dir / "db");
    handle.write([&](store::Txn& txn) {
      REQUIRE(store::get_or_add_index(handle, txn, store::IdKind::Item, "extra") == 30);
      for (std::uint32_t u = 0; u < 10; ++u) {
        store::RatingRecord r{30, 1.0f, 5};
        store::merge_user_ratings(handle, txn, u, std::span<const store::RatingRecord>(&r, 1),
                                  store::DuplicatePolicy::LastWins);
      }
    });
    rank::PrecomputeOptions o;
    o.k = 5;
    rank::precompute(handle, o);
  }
};

}  // namespace

TEST_CASE("a new user whose events touch only items the model lacks gets the fallback without those items") {
  WithExtraItem f;
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  auto shared = test::parse_body(c.get("/v1/users/nobody/recommendations").body);
  REQUIRE(shared.source == "fallback");
  REQUIRE(shared.items.at(0).first == "extra");

  auto post = c.request("POST", "/v1/events",
                        R"([{"user":"newbie","item":"extra"},{"user":"newbie","item":"brand-new-item"}])");
  REQUIRE(post.status == 200);
  auto body = test::parse_body(c.get("/v1/users/newbie/recommendations").body);
  REQUIRE(body.source == "fallback");
  REQUIRE(body.model == f.s.generation);
  // The shared ranking without "extra": the next five most-rated items.
  REQUIRE(body.items.size() == 5);
  REQUIRE(std::vector<std::pair<std::string, double>>(shared.items.begin() + 1, shared.items.end()) ==
          std::vector<std::pair<std::string, double>>(body.items.begin(), body.items.begin() + 4));
  for (const auto& [item, score] : body.items) {
    REQUIRE(item != "extra");
    REQUIRE(score > 0);  // rating counts, not the zero scores of a factorless user
  }
  // An event on a known item then gives a model list.
  REQUIRE(c.request("POST", "/v1/events", R"({"user":"newbie","item":"i4"})").status == 200);
  auto model = test::parse_body(c.get("/v1/users/newbie/recommendations").body);
  REQUIRE(model.source == "model");
  auto names = test::item_names(model);
  REQUIRE(std::find(names.begin(), names.end(), "i4") == names.end());
}

TEST_CASE("precompute gives a user whose rated items the model lacks the fallback without them") {
  WithExtraItem f;
  {
    // Ratings that arrived after training, on items first seen after it.
    auto db = test::open_db(f.dir / "db");
    db.write([&](store::Txn& txn) {
      auto user = store::get_or_add_index(db, txn, store::IdKind::User, "late");
      auto other = store::get_or_add_index(db, txn, store::IdKind::Item, "other-new");
      store::RatingRecord r[2] = {{30, 1.0f, 5}, {other, 1.0f, 5}};
      store::merge_user_ratings(db, txn, user, r, store::DuplicatePolicy::LastWins);
    });
    rank::PrecomputeOptions o;
    o.k = 5;
    rank::precompute(db, o);
  }
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  // Users 0-9 rated "extra" too, but they have factors: model lists.
  REQUIRE(test::parse_body(c.get("/v1/users/u0/recommendations").body).source == "model");
  auto shared = test::parse_body(c.get("/v1/users/nobody/recommendations").body);
  REQUIRE(shared.items.at(0).first == "extra");
  auto late = test::parse_body(c.get("/v1/users/late/recommendations").body);
  REQUIRE(late.source == "fallback");
  REQUIRE(late.items.size() == 5);
  REQUIRE(std::vector<std::pair<std::string, double>>(shared.items.begin() + 1, shared.items.end()) ==
          std::vector<std::pair<std::string, double>>(late.items.begin(), late.items.begin() + 4));
  for (const auto& [item, score] : late.items) REQUIRE(item != "extra");
}

TEST_CASE("an item the model has no similar items for gets the fallback without itself, stored or cut when served") {
  WithExtraItem f;  // "extra": the most-rated item, newer than the model
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  auto shared = test::item_names(test::parse_body(c.get("/v1/users/nobody/recommendations").body));
  REQUIRE(shared.at(0) == "extra");
  const std::vector<std::string> others(shared.begin() + 1, shared.begin() + 4);
  auto expect_without_self = [&](const std::string& target) {
    INFO(target);
    auto body = test::parse_body(c.get(target).body, "item");
    REQUIRE(body.source == "fallback");
    REQUIRE(test::item_names(body) == others);
  };
  // precompute stored the item's own list, without it.
  expect_without_self("/v1/items/extra/similar?k=3");
  expect_without_self("/v1/items/extra/similar?k=3&exclude=nothing");
  // A cache without that list (written before it was stored): the shared
  // fallback is cut on the fly, still without the item.
  {
    auto db = test::open_db(f.dir / "db");
    db.write([&](store::Txn& txn) {
      store::delete_list(db, txn, store::CacheTable::ItemSimilar, "extra");
      db.tables().candidates.del(txn, store::candidate_key(store::CandidateKind::Similar, "extra"));
    });
  }
  expect_without_self("/v1/items/extra/similar?k=3");
}

TEST_CASE("fold-in of a Spark model scales the regularisation by the user's number of ratings; a value 0 adds nothing") {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "users");
  std::filesystem::create_directories(dir / "items");
  dir.write("users/part-0.json", "{\"id\":1,\"features\":[1.0,0.0]}\n{\"id\":2,\"features\":[0.0,1.0]}\n");
  dir.write("items/part-0.json",
            "{\"id\":10,\"features\":[0.9,0.1]}\n{\"id\":20,\"features\":[0.1,0.9]}\n{\"id\":30,\"features\":[0.5,0.5]}\n");
  std::string db = (dir / "db").string();
  auto imported = test::run_recsys({"--db", db, "import-factors", "--users", (dir / "users").string(), "--items",
                                    (dir / "items").string(), "--regularization", "0.5", "--alpha", "2"},
                                   dir);
  INFO(imported.err);
  REQUIRE(imported.status == 0);
  REQUIRE(test::run_recsys({"--db", db, "precompute", "--k", "3"}, dir).status == 0);
  {
    test::Server server(dir, db);
    Connection c(server.port());
    REQUIRE(c.get("/v1/model").body.find("\"weighted_lambda\":true") != std::string::npos);
    auto post = c.request("POST", "/v1/events",
                          R"([{"user":"n1","item":"10","value":3},{"user":"n1","item":"30","value":1},)"
                          R"({"user":"n1","item":"20","value":0}])");
    REQUIRE(post.status == 200);
    server.stop();
  }
  // Spark's implicit solve (ALS.computeFactors): (YᵀY + Σ c_j y_j y_jᵀ + λ·n I) x
  // = Σ (1 + c_j) y_j with c_j = α·r_j and n = 2 positive ratings. Item 20's
  // value 0 is a preference 0 with c = 0: it adds nothing (it added y_20 to b).
  Eigen::MatrixXd y(3, 2);
  y << 0.9, 0.1, 0.1, 0.9, 0.5, 0.5;
  Eigen::MatrixXd a = y.transpose() * y;
  Eigen::VectorXd b = Eigen::VectorXd::Zero(2);
  const double alpha = 2, lambda = 0.5;
  for (auto [row, r] : {std::pair{0, 3.0}, std::pair{2, 1.0}}) {
    a += alpha * r * y.row(row).transpose() * y.row(row);
    b += (1 + alpha * r) * y.row(row).transpose();
  }
  a.diagonal().array() += lambda * 2;
  Eigen::VectorXd expected = a.ldlt().solve(b);

  auto handle = test::open_db(dir / "db", store::OpenMode::ReadOnly);
  auto txn = handle.begin_read();
  auto user = store::find_index(handle, txn, store::IdKind::User, "n1");
  REQUIRE(user);
  auto gen = store::serving_generation(handle, txn);
  REQUIRE(gen);
  auto factors = store::load_factors(handle, txn, *gen, store::Side::Users);
  REQUIRE(factors.cols == 2);
  REQUIRE(*user < factors.rows);
  for (int f = 0; f < 2; ++f) REQUIRE(factors.data[*user * 2 + f] == Approx(expected[f]).epsilon(1e-4));
}

TEST_CASE("a cache an older recsys wrote (no fallback order, candidates of another generation) still answers exclude=") {
  WithExtraItem f;
  const std::string user = f.s.users.at(0);
  std::vector<std::string> plain, shared;
  {
    test::Server server(f.dir, f.db);
    Connection c(server.port());
    plain = test::item_names(test::parse_body(c.get("/v1/users/" + user + "/recommendations").body));
    shared = test::item_names(test::parse_body(c.get("/v1/users/nobody/recommendations").body));
  }
  REQUIRE(plain.size() == 5);
  REQUIRE(shared.size() == 5);
  {
    auto db = test::open_db(f.dir / "db");
    db.write([&](store::Txn& txn) {
      // A cache from before meta "fallback_order", and without "extra"'s own list.
      db.tables().meta.del(txn, "fallback_order");
      store::delete_list(db, txn, store::CacheTable::ItemSimilar, "extra");
      db.tables().candidates.del(txn, store::candidate_key(store::CandidateKind::Similar, "extra"));
      // The user's candidates left from another generation, naming items outside the user's list.
      std::vector<store::RankedItem> stale;
      for (std::uint32_t i = 0; i < f.s.items.size(); ++i) {
        if (std::find(plain.begin(), plain.end(), f.s.items[i]) == plain.end()) stale.push_back({i, 9.0f});
      }
      store::put_candidates(db, txn, store::CandidateKind::User, user,
                            store::encode_candidates(store::ListSource::Model, 99, stale));
    });
  }
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  // Before: the shared fallback with exclude= answered "items":[] (an empty
  // candidate list), and the user's answer came from generation 99's items.
  auto stranger = test::parse_body(c.get("/v1/users/nobody/recommendations?k=3&exclude=" + shared[0]).body);
  REQUIRE(test::item_names(stranger) == std::vector<std::string>(shared.begin() + 1, shared.begin() + 4));
  auto own = test::parse_body(c.get("/v1/users/" + user + "/recommendations?exclude=" + plain[0]).body);
  REQUIRE(own.model == 1);
  REQUIRE(test::item_names(own) == std::vector<std::string>(plain.begin() + 1, plain.end()));
  auto similar = test::parse_body(c.get("/v1/items/extra/similar?k=3").body, "item");
  REQUIRE(test::item_names(similar) == std::vector<std::string>(shared.begin() + 1, shared.begin() + 4));
}
