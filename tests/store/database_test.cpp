#include <catch2/catch.hpp>

#include <string>

#include "store/database.hpp"
#include "temp_dir.hpp"
#include "test_db.hpp"

using namespace recsys;
using namespace recsys::store;


TEST_CASE("a read-only open of a missing database is a clear error and creates nothing") {
  test::TempDir dir;
  REQUIRE_THROWS_WITH(test::open_test_db(dir, OpenMode::ReadOnly), Catch::Contains("no recsys database"));
  REQUIRE_THROWS_WITH(test::open_test_db(dir, OpenMode::ReadWrite), Catch::Contains("no recsys database"));
  REQUIRE_FALSE(std::filesystem::exists(dir / "db"));
}

TEST_CASE("a created database records the schema version and reopens read-only") {
  test::TempDir dir;
  {
    auto db = test::open_test_db(dir, OpenMode::Create);
    db.write([&](Txn& txn) { db.tables().user_ids.put(txn, "u1", bytes_of(std::uint32_t{7})); });
  }
  auto db = test::open_test_db(dir, OpenMode::ReadOnly);
  auto txn = db.begin_read();
  REQUIRE(db.meta_u32(txn, "schema_version") == kSchemaVersion);
  auto v = db.tables().user_ids.get(txn, "u1");
  REQUIRE(v);
  REQUIRE(load<std::uint32_t>(*v) == 7u);
}

TEST_CASE("a database of another schema version is refused with an actionable message") {
  test::TempDir dir;
  {
    auto db = test::open_test_db(dir, OpenMode::Create);
    db.write([&](Txn& txn) { db.put_meta_u32(txn, "schema_version", kSchemaVersion + 1); });
  }
  REQUIRE_THROWS_WITH(test::open_test_db(dir, OpenMode::ReadOnly), Catch::Contains("schema version") && Catch::Contains("re-import"));
}

TEST_CASE("an LMDB environment that recsys did not create is refused") {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "db");
  {
    Env::Options o;
    auto env = Env::open((dir / "db").string(), o);
    auto txn = Txn::begin(env.handle());
    Dbi::open(txn, "foreign", MDB_CREATE);
    Dbi::open(txn, "other", MDB_CREATE);
    txn.commit();
  }
  REQUIRE_THROWS(test::open_test_db(dir, OpenMode::ReadWrite));
}

TEST_CASE("the map grows past a tiny initial size and keeps every committed write") {
  test::TempDir dir;
  auto db = test::open_test_db(dir, OpenMode::Create, 64 * 1024);
  std::size_t initial = db.env().map_size();
  std::string value(4000, 'x');
  for (int batch = 0; batch < 10; ++batch) {
    db.write([&](Txn& txn) {
      for (int i = 0; i < 100; ++i) {
        db.tables().item_meta.put(txn, std::to_string(batch * 100 + i), value);
      }
    });
  }
  REQUIRE(db.env().map_size() > initial);
  auto txn = db.begin_read();
  REQUIRE(db.tables().item_meta.size(txn) == 1000);
}

TEST_CASE("an aborted write transaction leaves nothing behind") {
  test::TempDir dir;
  auto db = test::open_test_db(dir, OpenMode::Create);
  REQUIRE_THROWS_AS(db.write([&](Txn& txn) {
    db.tables().item_meta.put(txn, "a", "1");
    throw std::runtime_error("stop");
  }),
                    std::runtime_error);
  auto txn = db.begin_read();
  REQUIRE_FALSE(db.tables().item_meta.get(txn, "a"));
}

TEST_CASE("LMDB errors carry the call name and LMDB's message") {
  test::TempDir dir;
  auto db = test::open_test_db(dir, OpenMode::Create);
  auto txn = db.begin_read();
  try {
    db.tables().item_meta.put(txn, "a", "1");  // write in a read-only transaction
    FAIL("put in a read-only transaction succeeded");
  } catch (const LmdbError& e) {
    REQUIRE(std::string(e.what()).find("mdb_put") == 0);
    REQUIRE(e.code() == EACCES);
  }
}
