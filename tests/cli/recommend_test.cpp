// recsys recommend: the same answers and the same refusals as the server.
#include <catch2/catch.hpp>

#include "process.hpp"
#include "temp_dir.hpp"
#include "toy_ratings.hpp"

using namespace recsys::test;

namespace {

std::string trained_db(const TempDir& dir) {
  auto db = (dir / "db").string();
  auto csv = dir.write("r.csv", kToyRatings);
  auto train = run_recsys({"--db", db, "train", csv.string(), "--split", "none", "--factors", "2", "--iterations", "2"},
                          dir);
  INFO(train.err);
  REQUIRE(train.status == 0);
  REQUIRE(run_recsys({"--db", db, "precompute", "--k", "3"}, dir).status == 0);
  return db;
}

// `command ID --k 0` for a known and an unknown id: a usage error, nothing printed.
void require_k0_refused(const TempDir& dir, const std::string& db, const char* command,
                        std::initializer_list<const char*> ids) {
  for (const char* id : ids) {
    auto r = run_recsys({"--db", db, command, id, "--k", "0", "--json"}, dir);
    REQUIRE(r.status == 2);
    REQUIRE(r.out.empty());
    REQUIRE(r.err.find("k must be a positive integer") != std::string::npos);
  }
}

}  // namespace

TEST_CASE("recommend --k 0 is a usage error worded as the server's") {
  TempDir dir;
  auto db = trained_db(dir);
  require_k0_refused(dir, db, "recommend", {"u1", "stranger"});
  REQUIRE(run_recsys({"--db", db, "recommend", "--all", "--json", "--k", "0"}, dir).status == 2);
  REQUIRE(run_recsys({"--db", db, "recommend", "u1", "--k", "1"}, dir).status == 0);
}

TEST_CASE("similar --k 0 is a usage error worded as the server's") {
  TempDir dir;
  auto db = trained_db(dir);
  require_k0_refused(dir, db, "similar", {"a", "no-such-item"});
  REQUIRE(run_recsys({"--db", db, "similar", "a", "--k", "1"}, dir).status == 0);
}

TEST_CASE("recommend leaves out the items a user rated when it answers with the fallback") {
  TempDir dir;
  auto db = trained_db(dir);
  // Ratings appended after training, on an item the model lacks: g becomes the
  // most rated item. u7 rated only g, so fold-in has nothing to work with and
  // u7 gets the fallback without g.
  auto late = dir.write("late.csv", "user,item,rating\nu7,g,5\nu8,g,4\nu9,g,3\nu10,g,5\nu11,g,2\n");
  REQUIRE(run_recsys({"--db", db, "import", late.string(), "--append"}, dir).status == 0);
  auto pre = run_recsys({"--db", db, "precompute", "--k", "3"}, dir);
  INFO(pre.err);
  REQUIRE(pre.status == 0);
  // a, b and c are rated 4 times each: ties go to the first seen.
  auto shared = run_recsys({"--db", db, "recommend", "stranger", "--json"}, dir);
  REQUIRE(shared.out == R"({"user":"stranger","model":1,"source":"fallback","items":[{"item":"g","score":5},)"
                        R"({"item":"a","score":4},{"item":"b","score":4}]})"
                        "\n");
  auto r = run_recsys({"--db", db, "recommend", "u7", "--json"}, dir);
  REQUIRE(r.status == 0);
  REQUIRE(r.out == R"({"user":"u7","model":1,"source":"fallback","items":[{"item":"a","score":4},)"
                   R"({"item":"b","score":4},{"item":"c","score":4}]})"
                   "\n");
}
