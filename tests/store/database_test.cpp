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

TEST_CASE("a database of a newer or unknown schema version is refused with an actionable message") {
  test::TempDir dir;
  {
    auto db = test::open_test_db(dir, OpenMode::Create);
    db.write([&](Txn& txn) { db.put_meta_u32(txn, "schema_version", kSchemaVersion + 1); });
  }
  for (auto mode : {OpenMode::ReadOnly, OpenMode::ReadWrite}) {
    REQUIRE_THROWS_WITH(test::open_test_db(dir, mode),
                        Catch::Contains("schema version " + std::to_string(kSchemaVersion + 1)) &&
                            Catch::Contains("written by a newer recsys"));
  }
}

// A version-1 database as the binaries before version 2 left it: schema
// version 1, and (written before the table existed) no candidates table.
namespace {
void make_version_1(const test::TempDir& dir) {
  auto db = test::open_test_db(dir, OpenMode::Create);
  db.write([&](Txn& txn) {
    db.tables().user_ids.put(txn, "u1", bytes_of(std::uint32_t{0}));
    db.put_meta_u32(txn, "schema_version", 1);
    check("mdb_drop", mdb_drop(txn.handle(), db.tables().candidates.handle(), 1));
  });
}
}  // namespace

TEST_CASE("a version-1 database is read as it is, and a read-write open upgrades it to this version") {
  test::TempDir dir;
  make_version_1(dir);
  {
    // Read-only (a replica, info, backup before an upgrade): the missing table reads as empty.
    auto db = test::open_test_db(dir, OpenMode::ReadOnly);
    auto txn = db.begin_read();
    REQUIRE(db.meta_u32(txn, "schema_version") == 1u);
    REQUIRE_FALSE(db.tables().candidates.present());
    REQUIRE_FALSE(db.tables().candidates.get(txn, "u-anyone"));
    REQUIRE(db.tables().candidates.size(txn) == 0);
    Cursor cursor = Cursor::open(txn, db.tables().candidates);
    std::string_view k, v;
    REQUIRE_FALSE(cursor.get(k, v, MDB_FIRST));
    REQUIRE_THROWS_AS(db.tables().candidates.put(txn, "k", "v"), std::logic_error);
  }
  {
    auto db = test::open_test_db(dir, OpenMode::ReadWrite);
    auto txn = db.begin_read();
    REQUIRE(db.meta_u32(txn, "schema_version") == kSchemaVersion);
    REQUIRE(db.tables().candidates.present());
    REQUIRE(db.tables().user_ids.get(txn, "u1"));  // the data is kept
  }
  auto db = test::open_test_db(dir, OpenMode::ReadOnly);
  REQUIRE(db.meta_u32(db.begin_read(), "schema_version") == kSchemaVersion);
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
