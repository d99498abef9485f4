// Import safety with the real binary: a file that is mostly malformed (the
// wrong file) writes nothing, stored ratings are only replaced or extended
// when the user says which, a failed first import leaves no database behind,
// and an import whose ids were taken by another writer meanwhile still lands.
#include <catch2/catch.hpp>

#include "import_support.hpp"
#include "process.hpp"

using namespace recsys;
using namespace recsys::test;

namespace {

std::string db_arg(const TempDir& dir) { return "--db=" + (dir / "db").string(); }

// A MovieLens u.item lookalike: pipe-separated, with commas in some titles so
// that a few lines split into enough comma fields to pass as rows.
std::string item_file(int rows) {
  std::string s;
  for (int i = 1; i <= rows; ++i) {
    s += std::to_string(i) + "|Movie " + std::to_string(i) + (i % 4 == 0 ? ", The (1995)" : " (1995)") +
         "|01-Jan-1995||http://example.org/|0|0|1\n";
  }
  return s;
}

Dump stored(const TempDir& dir) {
  auto db = open_db(dir, store::OpenMode::ReadOnly);
  return dump(db);
}

}  // namespace

TEST_CASE("importing the wrong file, mostly malformed rows, aborts with counts and writes nothing") {
  TempDir dir;
  auto good = dir.write("good.csv", "user,item,rating\nu1,i1,4\nu2,i2,3\nu3,i1,5\n");
  REQUIRE(run_recsys({db_arg(dir), "import", good.string()}, dir).status == 0);
  Dump before = stored(dir);
  auto wrong = dir.write("u.item", item_file(40));
  for (const char* mode : {"--replace", "--append"}) {
    auto res = run_recsys({db_arg(dir), "import", mode, wrong.string()}, dir);
    REQUIRE(res.status == 1);
    // 10 of 40 lines have a comma title, so they split into enough fields.
    REQUIRE_THAT(res.err, Catch::Contains("30 of 40 rows (75.0%) are malformed") &&
                              Catch::Contains("--max-bad-fraction 0.1") && Catch::Contains("nothing imported") &&
                              Catch::Contains("u.item:1: "));
    REQUIRE(stored(dir) == before);
  }
  // Train imports with the same rules.
  auto res = run_recsys({db_arg(dir), "train", "--replace", "--factors", "2", "--iterations", "1", wrong.string()}, dir);
  REQUIRE(res.status == 1);
  REQUIRE_THAT(res.err, Catch::Contains("are malformed"));
  REQUIRE(stored(dir) == before);
}

TEST_CASE("an import aborts when more of a file's rows than --max-bad-fraction are malformed") {
  TempDir dir;
  // 1 bad row of 5: 20 %.
  auto file = dir.write("r.csv", "u1,i1,4\nu2,i1,3\nu3,i2,x\nu4,i2,1\nu5,i3,2\n");
  auto res = run_recsys({db_arg(dir), "import", file.string()}, dir);
  REQUIRE(res.status == 1);
  REQUIRE_THAT(res.err, Catch::Contains("1 of 5 rows (20.0%) are malformed") && Catch::Contains("r.csv:3: rating 'x'"));
  REQUIRE_FALSE(std::filesystem::exists(dir / "db"));
  res = run_recsys({db_arg(dir), "import", "--max-bad-fraction", "0.2", file.string()}, dir);
  REQUIRE(res.status == 0);
  REQUIRE(stored(dir).ratings.size() == 4);
  REQUIRE(run_recsys({db_arg(dir), "import", "--max-bad-fraction", "1.5", file.string()}, dir).status == 2);
  REQUIRE(run_recsys({db_arg(dir), "import", "--max-bad-fraction", "-0.1", file.string()}, dir).status == 2);
}

TEST_CASE("with ratings stored, import and train require --append or --replace") {
  TempDir dir;
  auto first = dir.write("a.csv", "u1,i1,4\nu2,i2,3\nu3,i1,5\nu3,i2,2\n");
  REQUIRE(run_recsys({db_arg(dir), "import", first.string()}, dir).status == 0);
  Dump before = stored(dir);
  auto second = dir.write("b.csv", "u9,i9,1\nu8,i9,2\n");
  auto res = run_recsys({db_arg(dir), "import", second.string()}, dir);
  REQUIRE(res.status == 2);
  REQUIRE_THAT(res.err, Catch::Contains("4 ratings are stored") && Catch::Contains("--append") &&
                            Catch::Contains("--replace"));
  REQUIRE(stored(dir) == before);
  res = run_recsys({db_arg(dir), "train", "--factors", "2", "--iterations", "1", second.string()}, dir);
  REQUIRE(res.status == 2);
  REQUIRE_THAT(res.err, Catch::Contains("--append") && Catch::Contains("--replace"));
  REQUIRE(stored(dir) == before);
  REQUIRE(run_recsys({db_arg(dir), "import", "--append", "--replace", second.string()}, dir).status == 2);

  REQUIRE(run_recsys({db_arg(dir), "import", "--append", second.string()}, dir).status == 0);
  REQUIRE(stored(dir).ratings.size() == 6);
  REQUIRE(run_recsys({db_arg(dir), "import", "--replace", second.string()}, dir).status == 0);
  auto after = stored(dir);
  REQUIRE(after.ratings == std::vector<Row>{Row{"u9", "i9", 1.0f, 0}, Row{"u8", "i9", 2.0f, 0}});
  REQUIRE(after.users == std::vector<std::string>{"u1", "u2", "u3", "u9", "u8"});  // indexes kept
  res = run_recsys({db_arg(dir), "train", "--replace", "--split", "none", "--factors", "2", "--iterations", "1",
                    first.string()},
                   dir);
  REQUIRE(res.status == 0);
  REQUIRE(stored(dir).ratings.size() == 4);
}

TEST_CASE("a failed first import or train leaves no database behind") {
  TempDir dir;
  auto bad = dir.write("bad.csv", "u1,i1,x\n");
  auto res = run_recsys({db_arg(dir), "import", bad.string()}, dir);
  REQUIRE(res.status == 1);
  REQUIRE_FALSE(std::filesystem::exists(dir / "db"));
  REQUIRE(run_recsys({db_arg(dir), "import", (dir / "missing.csv").string()}, dir).status == 1);
  REQUIRE_FALSE(std::filesystem::exists(dir / "db"));
  REQUIRE(run_recsys({db_arg(dir), "train", bad.string()}, dir).status == 1);
  REQUIRE_FALSE(std::filesystem::exists(dir / "db"));
  // A database that existed before a failed import stays.
  auto good = dir.write("good.csv", "u1,i1,4\n");
  REQUIRE(run_recsys({db_arg(dir), "import", good.string()}, dir).status == 0);
  REQUIRE(run_recsys({db_arg(dir), "import", "--replace", bad.string()}, dir).status == 1);
  REQUIRE(stored(dir).ratings.size() == 1);
}
