#include <catch2/catch.hpp>

#include "store/models.hpp"
#include "temp_dir.hpp"

using namespace recsys;
using namespace recsys::store;

namespace {
Database create(const test::TempDir& dir) {
  OpenOptions o;
  o.path = dir / "db";
  o.mode = OpenMode::Create;
  return Database::open(o);
}

FactorMatrix matrix(std::uint32_t rows, std::uint32_t cols, float base) {
  FactorMatrix m{rows, cols, {}};
  for (std::uint32_t i = 0; i < rows * cols; ++i) m.data.push_back(base + static_cast<float>(i));
  return m;
}
}  // namespace

TEST_CASE("model generations are numbered from 1 and their factors round-trip") {
  test::TempDir dir;
  auto db = create(dir);
  auto users = matrix(300, 8, 0.5f);
  auto items = matrix(70, 8, -3.0f);
  auto g1 = db.write([&](Txn& txn) { return save_model(db, txn, R"({"a":1})", users, items); });
  auto g2 = db.write([&](Txn& txn) { return save_model(db, txn, R"({"a":2})", items, users); });
  REQUIRE(g1 == 1);
  REQUIRE(g2 == 2);

  auto txn = db.begin_read();
  auto u = load_factors(db, txn, 1, Side::Users);
  REQUIRE(u.rows == 300);
  REQUIRE(u.cols == 8);
  REQUIRE(u.data == users.data);
  REQUIRE(load_factors(db, txn, 1, Side::Items).data == items.data);
  REQUIRE(load_factors(db, txn, 2, Side::Users).data == items.data);
  REQUIRE(latest_model(db, txn)->description == R"({"a":2})");
  REQUIRE(list_models(db, txn).size() == 2);
  REQUIRE_FALSE(find_model(db, txn, 3));
}

TEST_CASE("one user's factor row can be replaced and a new row appended") {
  test::TempDir dir;
  auto db = create(dir);
  auto g = db.write([&](Txn& txn) { return save_model(db, txn, "{}", matrix(4, 3, 0), matrix(5, 3, 0)); });
  std::vector<float> row{9, 8, 7};
  db.write([&](Txn& txn) {
    put_factor_row(db, txn, g, Side::Users, 1, row);
    put_factor_row(db, txn, g, Side::Users, 6, row);  // a user new since training
  });
  auto txn = db.begin_read();
  REQUIRE(*load_factor_row(db, txn, g, Side::Users, 1) == row);
  auto u = load_factors(db, txn, g, Side::Users);
  REQUIRE(u.rows == 7);
  REQUIRE(u.data[5 * 3] == 0.0f);  // a gap row stays zero
  REQUIRE(u.data[6 * 3 + 2] == 7.0f);
  REQUIRE(load_factors(db, txn, g, Side::Items).rows == 5);
}

TEST_CASE("deleting a generation removes its factors and keeps the others") {
  test::TempDir dir;
  auto db = create(dir);
  db.write([&](Txn& txn) {
    save_model(db, txn, "{}", matrix(10, 2, 0), matrix(10, 2, 0));
    save_model(db, txn, "{}", matrix(10, 2, 1), matrix(10, 2, 1));
    save_model(db, txn, "{}", matrix(10, 2, 2), matrix(10, 2, 2));
  });
  db.write([&](Txn& txn) { delete_model(db, txn, 2); });
  auto txn = db.begin_read();
  REQUIRE_FALSE(find_model(db, txn, 2));
  REQUIRE(load_factors(db, txn, 2, Side::Users).rows == 0);
  REQUIRE(load_factors(db, txn, 1, Side::Items).rows == 10);
  REQUIRE(load_factors(db, txn, 3, Side::Users).data == matrix(10, 2, 2).data);
  REQUIRE(db.tables().factors.size(txn) == 40);
}

TEST_CASE("the serving generation is unset until precompute sets it") {
  test::TempDir dir;
  auto db = create(dir);
  {
    auto txn = db.begin_read();
    REQUIRE_FALSE(serving_generation(db, txn));
  }
  db.write([&](Txn& txn) {
    for (int g = 0; g < 4; ++g) save_model(db, txn, "{}", matrix(2, 2, 0), matrix(2, 2, 0));
    set_serving_generation(db, txn, 4);
  });
  auto txn = db.begin_read();
  REQUIRE(serving_generation(db, txn) == 4u);
}

TEST_CASE("serving cannot switch to a generation deleted meanwhile, and nothing changes") {
  // precompute ranks from a snapshot; `models delete` or `train --keep` may
  // remove its generation before it commits.
  test::TempDir dir;
  auto db = create(dir);
  db.write([&](Txn& txn) {
    save_model(db, txn, "{}", matrix(3, 2, 0), matrix(3, 2, 0));
    save_model(db, txn, "{}", matrix(3, 2, 1), matrix(3, 2, 1));
    set_serving_generation(db, txn, 1);
  });
  db.write([&](Txn& txn) { delete_model(db, txn, 2); });
  REQUIRE_THROWS_WITH(db.write([&](Txn& txn) {
                        db.put_meta_u32(txn, "marker", 1);  // the rest of a precompute's commit
                        set_serving_generation(db, txn, 2);
                      }),
                      Catch::Contains("model generation 2 is no longer stored"));
  auto txn = db.begin_read();
  REQUIRE(serving_generation(db, txn) == 1u);
  REQUIRE_FALSE(db.meta_u32(txn, "marker"));
}

TEST_CASE("the serving generation and missing ones cannot be deleted, and nothing changes") {
  test::TempDir dir;
  auto db = create(dir);
  db.write([&](Txn& txn) {
    save_model(db, txn, "{}", matrix(3, 2, 0), matrix(3, 2, 0));
    save_model(db, txn, "{}", matrix(3, 2, 1), matrix(3, 2, 1));
    set_serving_generation(db, txn, 1);
  });
  REQUIRE_THROWS_WITH(db.write([&](Txn& txn) { delete_model(db, txn, 1); }), Catch::Contains("being served"));
  REQUIRE_THROWS_WITH(db.write([&](Txn& txn) { delete_model(db, txn, 7); }),
                      Catch::Contains("no model generation 7"));
  auto txn = db.begin_read();
  REQUIRE(list_models(db, txn).size() == 2);
  REQUIRE(db.tables().factors.size(txn) == 12);
}

TEST_CASE("prune keeps the newest generations and the serving one") {
  test::TempDir dir;
  auto db = create(dir);
  db.write([&](Txn& txn) {
    for (int g = 0; g < 5; ++g) save_model(db, txn, "{}", matrix(2, 2, 0), matrix(2, 2, 0));
    set_serving_generation(db, txn, 2);
  });
  auto deleted = db.write([&](Txn& txn) { return prune_models(db, txn, 2); });
  REQUIRE(deleted == std::vector<std::uint32_t>{1, 3});
  auto txn = db.begin_read();
  std::vector<std::uint32_t> left;
  for (const auto& m : list_models(db, txn)) left.push_back(m.generation);
  REQUIRE(left == std::vector<std::uint32_t>{2, 4, 5});
  REQUIRE(db.tables().factors.size(txn) == 3 * 4);  // 2 user + 2 item rows each
}

TEST_CASE("a deleted generation's number is never given to a new model") {
  test::TempDir dir;
  auto db = create(dir);
  db.write([&](Txn& txn) {
    save_model(db, txn, "{}", matrix(2, 2, 0), matrix(2, 2, 0));
    save_model(db, txn, "{}", matrix(2, 2, 0), matrix(2, 2, 0));
  });
  db.write([&](Txn& txn) { delete_model(db, txn, 2); });
  auto g = db.write([&](Txn& txn) { return save_model(db, txn, "{}", matrix(2, 2, 0), matrix(2, 2, 0)); });
  REQUIRE(g == 3);
}
