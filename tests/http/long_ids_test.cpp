// Ids at the length limit. LMDB's keys hold at most 511 bytes and the
// candidates table puts a kind byte before an id, so new ids may have 510
// bytes (store/ids.hpp). A 511-byte item id taken by an event used to break
// every later precompute (MDB_BAD_VALSIZE) and a 511-byte user id made the
// event answer 500; such ids, stored by an older version, must still train,
// precompute, serve and check.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "../crash/pipeline.hpp"
#include "client.hpp"
#include "served_db.hpp"
#include "store/ids.hpp"
#include "store/ratings.hpp"

using namespace recsys;
using test::Connection;

namespace {

std::string events_body(const std::string& user, const std::vector<std::string>& items) {
  std::string body = "[";
  for (const auto& item : items) {
    if (body.size() > 1) body += ',';
    body += R"({"user":")" + user + R"(","item":")" + item + R"(","value":3})";
  }
  return body + "]";
}

bool lists(const std::string& body, const std::string& id) {
  return body.find("\"" + id + "\"") != std::string::npos;
}

}  // namespace

TEST_CASE("ids of 510 bytes go through import, events, precompute, serving and check") {
  test::TempDir dir;
  auto db = test::build_pipeline_db(dir, "db");
  const std::string user(store::kMaxIdBytes, 'u');
  const std::string item(store::kMaxIdBytes, 'i');
  // A rating file with the longest user and item ids: stored, trained on.
  auto file = dir.write("long.csv", user + ",1,4\n" + user + ",2,5\n" + user + ",3,3\n1," + item + ",4\n2," + item +
                                        ",5\n3," + item + ",2\n" + user + "," + item + ",5\n");
  test::must_run({"--db", db, "import", "--append", file.string()}, dir);
  test::must_run({"--db", db, "--threads", "1", "train", "--factors", "8", "--iterations", "3", "--split", "none"},
                 dir);
  test::must_run({"--db", db, "precompute", "--k", "10"}, dir);

  const std::string new_user = std::string(store::kMaxIdBytes - 1, 'n') + "1";
  const std::string new_item = std::string(store::kMaxIdBytes - 1, 'j') + "1";
  {
    test::Server server(dir, db);
    Connection c(server.port());
    auto r = c.request("GET", "/v1/users/" + user + "/recommendations?k=5");
    REQUIRE(r.status == 200);
    CHECK(r.body.find(R"("source":"model")") != std::string::npos);
    // exclude= answers from the candidates, whose keys are the longest.
    r = c.request("GET", "/v1/users/" + user + "/recommendations?k=5&exclude=4,5");
    REQUIRE(r.status == 200);
    r = c.request("GET", "/v1/items/" + item + "/similar?k=5&exclude=4");
    REQUIRE(r.status == 200);

    // Events: a new user and a new item of 510 bytes are taken...
    r = c.request("POST", "/v1/events", events_body(new_user, {new_item, "1", "2", "3"}));
    REQUIRE(r.status == 200);
    r = c.request("GET", "/v1/users/" + new_user + "/history");
    REQUIRE(r.status == 200);
    CHECK(lists(r.body, new_item));
    r = c.request("GET", "/v1/users/" + new_user + "/recommendations?k=5&exclude=4");
    REQUIRE(r.status == 200);

    // ...and 511 bytes are refused as the client's error, storing nothing of the request.
    for (const auto& body : {events_body(new_user + "x", {"1"}), events_body("u-ok", {"1", new_item + "x"})}) {
      r = c.request("POST", "/v1/events", body);
      CHECK(r.status == 422);
      CHECK(r.body.find("longer than 510 bytes") != std::string::npos);
    }
    r = c.request("GET", "/v1/users/u-ok/history");
    REQUIRE(r.status == 200);
    CHECK(!lists(r.body, "1"));
  }
  // The next precompute and retrain take the event's ids.
  test::must_run({"--db", db, "precompute", "--k", "10"}, dir);
  test::must_run({"--db", db, "--threads", "1", "train", "--factors", "8", "--iterations", "3", "--split", "none"},
                 dir);
  test::must_run({"--db", db, "precompute", "--k", "10"}, dir);
  auto checked = test::run_recsys({"--db", db, "check"}, dir);
  INFO(checked.out << checked.err);
  REQUIRE(checked.status == 0);
}

TEST_CASE("ids of 511 bytes stored by an older version still train, precompute, serve and check") {
  test::TempDir dir;
  auto db = test::build_pipeline_db(dir, "db");
  const std::string user(store::kMaxStoredIdBytes, 'u');
  const std::string item(store::kMaxStoredIdBytes, 'i');
  {
    // What an older version's events stored: ids through the maps without
    // the length check of today's input paths, ratings as events merge them.
    auto handle = test::open_db(db);
    handle.write([&](store::Txn& txn) {
      auto u = store::append_ids(handle, txn, store::IdKind::User, {user})[0];
      auto i = store::append_ids(handle, txn, store::IdKind::Item, {item})[0];
      std::vector<store::RatingRecord> mine{{0, 4.0f, 0}, {1, 5.0f, 0}, {2, 3.0f, 0}, {i, 5.0f, 0}};
      store::merge_user_ratings(handle, txn, u, mine, store::DuplicatePolicy::LastWins);
      for (std::uint32_t other = 0; other < 3; ++other) {
        std::vector<store::RatingRecord> one{{i, 4.0f, 0}};
        store::merge_user_ratings(handle, txn, other, one, store::DuplicatePolicy::LastWins);
      }
    });
  }
  test::must_run({"--db", db, "--threads", "1", "train", "--factors", "8", "--iterations", "3", "--split", "none"},
                 dir);
  test::must_run({"--db", db, "precompute", "--k", "10"}, dir);
  {
    test::Server server(dir, db);
    Connection c(server.port());
    auto r = c.request("GET", "/v1/users/" + user + "/recommendations?k=5");
    REQUIRE(r.status == 200);
    CHECK(r.body.find(R"("source":"model")") != std::string::npos);
    // No candidates record fits its key: exclude= cuts the plain list.
    r = c.request("GET", "/v1/users/" + user + "/recommendations?k=5&exclude=4");
    REQUIRE(r.status == 200);
    CHECK(r.body.find(R"("source":"model")") != std::string::npos);
    r = c.request("GET", "/v1/items/" + item + "/similar?k=5");
    REQUIRE(r.status == 200);
    r = c.request("GET", "/v1/users/" + user + "/history");
    REQUIRE(r.status == 200);
    CHECK(lists(r.body, item));
    // Its events are refused (a new id of that length could not be stored
    // whole), but precompute and serving go on for everyone else.
    r = c.request("POST", "/v1/events", events_body(user, {"1"}));
    CHECK(r.status == 422);
    r = c.request("POST", "/v1/events", events_body("0", {item}));
    CHECK(r.status == 422);
    r = c.request("POST", "/v1/events", events_body("0", {"7"}));
    CHECK(r.status == 200);
  }
  test::must_run({"--db", db, "precompute", "--k", "10"}, dir);
  auto checked = test::run_recsys({"--db", db, "check"}, dir);
  INFO(checked.out << checked.err);
  REQUIRE(checked.status == 0);
}
