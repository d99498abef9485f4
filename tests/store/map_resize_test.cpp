// The map-resize protocol (store/map_lock.hpp): a resize waits for every live
// transaction of the process, and a thread cannot deadlock on its own.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "store/database.hpp"
#include "temp_dir.hpp"
#include "test_db.hpp"

using namespace recsys;
using namespace recsys::store;

namespace {

std::string key(const char* prefix, int i) {
  std::string k(prefix);
  k += std::to_string(i);
  return k;
}

// Another process writes `values` values of 4 KiB into the database with a
// large map of its own, growing the file far past this process's map.
void grow_in_child(const test::TempDir& dir, int values) {
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int code = 0;
    try {
      auto other = test::open_test_db(dir, OpenMode::ReadWrite, std::size_t{64} << 20);
      other.write([&](Txn& txn) {
        for (int i = 0; i < values; ++i) other.tables().item_meta.put(txn, key("big", i), std::string(4096, 'x'));
      });
    } catch (...) {
      code = 1;
    }
    ::_exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}

}  // namespace

TEST_CASE("a map grown by another process is adopted only after this process's snapshots end") {
  test::TempDir dir;
  auto db = test::open_test_db(dir, OpenMode::Create, 256 * 1024);
  const std::string probe(100, 'p');
  db.write([&](Txn& txn) { db.tables().meta.put(txn, "probe", probe); });
  std::size_t before = db.env().map_size();

  auto snapshot = db.begin_read();
  auto view = db.tables().meta.get(snapshot, "probe");  // points into the map
  REQUIRE(view);
  grow_in_child(dir, 2000);  // ~8 MiB, far past the 256 KiB map

  // A writer of this process meets MDB_MAP_RESIZED: it must wait for the snapshot.
  std::atomic<bool> written{false};
  std::thread writer([&] {
    db.write([&](Txn& txn) { db.tables().meta.put(txn, "after", "1"); });
    written = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(written);
  REQUIRE(*view == probe);  // the snapshot's memory is still mapped
  snapshot.abort();
  writer.join();
  REQUIRE(written);
  REQUIRE(db.env().map_size() > before);
  auto txn = db.begin_read();
  REQUIRE(db.tables().meta.get(txn, "after") == std::optional<std::string_view>("1"));
  REQUIRE(db.tables().item_meta.get(txn, "big1999"));
}

TEST_CASE("a read snapshot renewed after another process grew the map sees the new data") {
  test::TempDir dir;
  auto db = test::open_test_db(dir, OpenMode::Create, 256 * 1024);
  auto reused = db.begin_read();
  reused.reset();
  grow_in_child(dir, 2000);
  db.renew(reused);
  REQUIRE(db.tables().item_meta.get(reused, "big0"));
  REQUIRE(db.map_lock().holders() == 1);
  reused.reset();
  REQUIRE(db.map_lock().holders() == 0);
}

TEST_CASE("a write begun by a thread that holds a snapshot is an error, not a deadlock") {
  test::TempDir dir;
  auto db = test::open_test_db(dir, OpenMode::Create, 64 * 1024);
  auto snapshot = db.begin_read();
  auto fill = [&](Txn& txn) {
    for (int i = 0; i < 200; ++i) db.tables().item_meta.put(txn, key("v", i), std::string(4096, 'y'));
  };
  // Refused before it waits for the writers' flock (lock order: flock, then
  // the map hold) and before it could need a resize its own snapshot blocks.
  REQUIRE_THROWS_WITH(db.write(fill), Catch::Contains("holds a transaction: end it first"));
  snapshot.abort();
  db.write(fill);  // with the snapshot ended, the map grows and the write lands
  auto txn = db.begin_read();
  REQUIRE(db.tables().item_meta.get(txn, "v199"));
}
