// recsys recommend: the same answers and the same refusals as the server.
#include <catch2/catch.hpp>

#include "process.hpp"
#include "temp_dir.hpp"

using namespace recsys::test;

namespace {

// Six users over six items: a, b and c are rated most.
const char* kRatings =
    "user,item,rating\n"
    "u1,a,5\nu1,b,4\nu1,d,2\n"
    "u2,a,4\nu2,c,5\nu2,e,1\n"
    "u3,b,3\nu3,c,4\nu3,f,2\n"
    "u4,a,2\nu4,b,5\nu4,c,3\n"
    "u5,a,1\nu5,d,4\n"
    "u6,b,2\nu6,c,1\nu6,e,4\n";

std::string trained_db(const TempDir& dir) {
  auto db = (dir / "db").string();
  auto csv = dir.write("r.csv", kRatings);
  auto train = run_recsys({"--db", db, "train", csv.string(), "--split", "none", "--factors", "2", "--iterations", "2"},
                          dir);
  INFO(train.err);
  REQUIRE(train.status == 0);
  REQUIRE(run_recsys({"--db", db, "precompute", "--k", "3"}, dir).status == 0);
  return db;
}

}  // namespace

TEST_CASE("recommend --k 0 is a usage error worded as the server's") {
  TempDir dir;
  auto db = trained_db(dir);
  for (const char* user : {"u1", "stranger"}) {
    auto r = run_recsys({"--db", db, "recommend", user, "--k", "0", "--json"}, dir);
    REQUIRE(r.status == 2);
    REQUIRE(r.out.empty());
    REQUIRE(r.err.find("k must be a positive integer") != std::string::npos);
  }
  REQUIRE(run_recsys({"--db", db, "recommend", "--all", "--json", "--k", "0"}, dir).status == 2);
  REQUIRE(run_recsys({"--db", db, "recommend", "u1", "--k", "1"}, dir).status == 0);
}

TEST_CASE("similar --k 0 is a usage error worded as the server's") {
  TempDir dir;
  auto db = trained_db(dir);
  for (const char* item : {"a", "no-such-item"}) {
    auto r = run_recsys({"--db", db, "similar", item, "--k", "0", "--json"}, dir);
    REQUIRE(r.status == 2);
    REQUIRE(r.out.empty());
    REQUIRE(r.err.find("k must be a positive integer") != std::string::npos);
  }
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
