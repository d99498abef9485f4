#include <catch2/catch.hpp>

#include "store/ids.hpp"
#include "temp_dir.hpp"
#include "test_db.hpp"

using namespace recsys;
using namespace recsys::store;


TEST_CASE("id maps round-trip both ways and keep their indexes across a reopen") {
  test::TempDir dir;
  {
    auto db = test::open_test_db(dir, OpenMode::Create);
    db.write([&](Txn& txn) {
      bool added = false;
      REQUIRE(get_or_add_index(db, txn, IdKind::User, "alice", &added) == 0);
      REQUIRE(added);
      REQUIRE(get_or_add_index(db, txn, IdKind::User, "bob") == 1);
      REQUIRE(get_or_add_index(db, txn, IdKind::User, "alice", &added) == 0);
      REQUIRE_FALSE(added);
      REQUIRE(get_or_add_index(db, txn, IdKind::Item, "bob") == 0);  // separate spaces
      REQUIRE(append_ids(db, txn, IdKind::Item, {"x", "y"}) == std::vector<std::uint32_t>{1, 2});
    });
  }
  auto db = test::open_test_db(dir, OpenMode::ReadOnly);
  auto txn = db.begin_read();
  REQUIRE(id_count(db, txn, IdKind::User) == 2);
  REQUIRE(id_count(db, txn, IdKind::Item) == 3);
  REQUIRE(find_index(db, txn, IdKind::User, "bob") == 1u);
  REQUIRE_FALSE(find_index(db, txn, IdKind::User, "carol"));
  REQUIRE_FALSE(find_index(db, txn, IdKind::User, ""));
  REQUIRE(find_id(db, txn, IdKind::Item, 2) == std::string_view("y"));
  REQUIRE_FALSE(find_id(db, txn, IdKind::Item, 3));
  REQUIRE(load_id_strings(db, txn, IdKind::Item) == std::vector<std::string>{"bob", "x", "y"});
  auto index = load_id_index(db, txn, IdKind::User);
  REQUIRE(index.size() == 2);
  REQUIRE(index.find(std::string_view("alice"))->second == 0u);
}

TEST_CASE("ids must be non-empty and fit an LMDB key") {
  test::TempDir dir;
  auto db = test::open_test_db(dir, OpenMode::Create);
  db.write([&](Txn& txn) {
    REQUIRE_THROWS_WITH(get_or_add_index(db, txn, IdKind::User, ""), "empty user id");
    REQUIRE_THROWS_WITH(get_or_add_index(db, txn, IdKind::Item, std::string(511, 'a')),
                        "item id is longer than 510 bytes");
    REQUIRE(get_or_add_index(db, txn, IdKind::Item, std::string(510, 'a')) == 0);
  });
}

TEST_CASE("bulk appends place ids another writer added meanwhile at their stored index") {
  test::TempDir dir;
  auto db = test::open_test_db(dir, OpenMode::Create);
  db.write([&](Txn& txn) { REQUIRE(append_ids(db, txn, IdKind::User, {"a", "b"}) == std::vector<std::uint32_t>{0, 1}); });
  // An import read the map at 2 ids and means to add c, d, e; a server's
  // events added d and f before the import's write transaction.
  db.write([&](Txn& txn) {
    REQUIRE(get_or_add_index(db, txn, IdKind::User, "d") == 2);
    REQUIRE(get_or_add_index(db, txn, IdKind::User, "f") == 3);
  });
  db.write([&](Txn& txn) {
    REQUIRE(append_ids(db, txn, IdKind::User, {"c", "d", "e", "a"}) == std::vector<std::uint32_t>{4, 2, 5, 0});
  });
  auto txn = db.begin_read();
  REQUIRE(load_id_strings(db, txn, IdKind::User) == std::vector<std::string>{"a", "b", "d", "f", "c", "e"});
  auto index = load_id_index(db, txn, IdKind::User);
  REQUIRE(index.size() == 6);
  REQUIRE(index.find(std::string_view("e"))->second == 5u);
}
