// The real binary: import/info/generate as a user runs them, standard input,
// exit codes, and kill -9 in the middle of a large import.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "import_support.hpp"
#include "process.hpp"

using namespace recsys;
using namespace recsys::test;

namespace {
std::string db_arg(const TempDir& dir) { return "--db=" + (dir / "db").string(); }
}  // namespace

TEST_CASE("recsys import reports what it did and recsys info shows it") {
  TempDir dir;
  auto file = dir.write("r.csv", "user,item,rating,timestamp\nu1,i1,4,1\nu2,i1,2,2\nu1,i2,bad,3\nu2,i3,5,4\n");
  // One malformed row of four: over the default --max-bad-fraction 0.1.
  auto res = run_recsys({db_arg(dir), "import", "--max-bad-fraction", "0.5", file.string()}, dir);
  REQUIRE(res.status == 0);
  REQUIRE_THAT(res.err, Catch::Contains(file.string() + ":4: rating 'bad' is not a number"));
  REQUIRE_THAT(res.out, Catch::Contains("rows read       4"));
  REQUIRE_THAT(res.out, Catch::Contains("imported        3"));
  REQUIRE_THAT(res.out, Catch::Contains("skipped         1"));
  REQUIRE_THAT(res.out, Catch::Contains("rows/s"));
  auto info = run_recsys({db_arg(dir), "info", "--json"}, dir);
  REQUIRE(info.status == 0);
  // i2 appears only in the malformed row, so it never got an index.
  REQUIRE_THAT(info.out, Catch::Contains(R"("ratings":{"ratings":3,"users":2,"users_with_ratings":2,"items":2,)"));
  REQUIRE_THAT(info.out, Catch::Contains(R"("min_value":2,"max_value":5,"density":0.75,"feedback":"explicit")"));
  auto text = run_recsys({db_arg(dir), "info"}, dir);
  REQUIRE_THAT(text.out, Catch::Contains("density              75.0000%"));
}

TEST_CASE("recsys import - reads standard input, compressed or not") {
  TempDir dir;
  auto file = dir.write("in.tsv", "1\t2\t3\t4\n5\t6\t1\t7\n");
  auto res = run_recsys({db_arg(dir), "import", "-"}, dir, file.string());
  REQUIRE(res.status == 0);
  auto db = open_db(dir, store::OpenMode::ReadOnly);
  auto d = dump(db);
  REQUIRE(d.ratings == std::vector<Row>{Row{"1", "2", 3.0f, 4}, Row{"5", "6", 1.0f, 7}});
}

TEST_CASE("recsys import - - is a usage error: standard input can be read once") {
  TempDir dir;
  auto file = dir.write("in.tsv", "1\t2\t3\t4\n");
  auto res = run_recsys({db_arg(dir), "import", "-", "-"}, dir, file.string());
  REQUIRE(res.status == 2);
  REQUIRE_THAT(res.err, Catch::Contains("'-' (standard input) is named more than once"));
  REQUIRE_FALSE(std::filesystem::exists(dir / "db" / "data.mdb"));
}

TEST_CASE("bad input gives exit 1 with the reason, usage errors exit 2, and nothing is written") {
  TempDir dir;
  auto good = dir.write("good.csv", "u1,i1,4\n");
  REQUIRE(run_recsys({db_arg(dir), "import", good.string()}, dir).status == 0);
  auto bad = dir.write("bad.csv", "u1,i1,x\n");
  auto res = run_recsys({db_arg(dir), "import", "--append", bad.string()}, dir);
  REQUIRE(res.status == 1);
  REQUIRE_THAT(res.err, Catch::Contains("no valid rating rows") && Catch::Contains("bad.csv:1: rating 'x'"));
  auto strict = dir.write("strict.csv", "u2,i2,3\nu3,i3,4\nu4,i4,-2\n");
  res = run_recsys({db_arg(dir), "import", "--append", "--strict", strict.string()}, dir);
  REQUIRE(res.status == 1);
  REQUIRE_THAT(res.err, Catch::Contains("strict.csv:3: rating '-2' is negative"));
  REQUIRE(run_recsys({db_arg(dir), "import", "--format", "json", good.string()}, dir).status == 2);
  REQUIRE(run_recsys({db_arg(dir), "import", "--columns", "only", good.string()}, dir).status == 2);
  // An index past every row is the option's fault: before, exit 1 and "expected
  // at least 100 fields, found 3" for each row. A few short rows stay malformed rows.
  res = run_recsys({db_arg(dir), "import", "--append", "--columns", "0,1,99", good.string()}, dir);
  REQUIRE(res.status == 2);
  REQUIRE_THAT(res.err, Catch::Contains("good.csv: --columns gives column index 99 but its rows have at most 3 fields (indexes 0 to 2)"));
  auto ragged = dir.write("ragged.csv", "u5,i5,4,x\nu5,i6,3\nu5,i7,2\nu5,i8,1\nu6,i6\n");
  res = run_recsys({db_arg(dir), "import", "--append", "--columns", "0,1,2", "--max-bad-fraction", "0.5", ragged.string()}, dir);
  REQUIRE(res.status == 0);
  REQUIRE_THAT(res.err, Catch::Contains("ragged.csv:5: expected at least 3 fields, found 2"));
  REQUIRE(run_recsys({db_arg(dir), "import", "--replace", (dir / "missing.csv").string()}, dir).status == 1);
  auto db = open_db(dir, store::OpenMode::ReadOnly);
  REQUIRE(dump(db).ratings == std::vector<Row>{Row{"u1", "i1", 4.0f, 0}, Row{"u5", "i5", 4.0f, 0}, Row{"u5", "i6", 3.0f, 0},
                                                Row{"u5", "i7", 2.0f, 0}, Row{"u5", "i8", 1.0f, 0}});
}

TEST_CASE("recsys generate writes a file that imports with the requested sizes") {
  TempDir dir;
  auto csv = (dir / "gen.csv").string();
  auto res = run_recsys({"generate", "--users", "200", "--items", "50", "--ratings", "3000", "--seed", "3",
                         "--output", csv}, dir);
  REQUIRE(res.status == 0);
  REQUIRE(run_recsys({db_arg(dir), "import", csv}, dir).status == 0);
  auto db = open_db(dir, store::OpenMode::ReadOnly);
  auto d = dump(db);
  REQUIRE(d.ratings.size() == 3000);
  REQUIRE(d.users.size() == 200);
  REQUIRE(d.stats.feedback == store::Feedback::Explicit);
  auto out = run_recsys({"generate", "--users", "200", "--items", "50", "--ratings", "3000", "--seed", "3"}, dir);
  std::ifstream in(csv, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  REQUIRE(out.out == ss.str());  // stdout and --output agree: deterministic
  REQUIRE(run_recsys({"generate", "--users", "0", "--items", "5", "--ratings", "3"}, dir).status == 2);
}

TEST_CASE("recsys generate --values counts writes play counts that import whole") {
  TempDir dir;
  auto csv = (dir / "plays.csv").string();
  auto res = run_recsys({"generate", "--users", "200", "--items", "50", "--ratings", "3000", "--seed", "3",
                         "--values", "counts", "--output", csv}, dir);
  REQUIRE(res.status == 0);
  REQUIRE(run_recsys({db_arg(dir), "import", "--values", "counts", csv}, dir).status == 0);
  auto db = open_db(dir, store::OpenMode::ReadOnly);
  auto d = dump(db);
  REQUIRE(d.ratings.size() == 3000);
  REQUIRE(d.stats.feedback == store::Feedback::Implicit);
  REQUIRE(d.stats.min_value >= 1);
  REQUIRE(d.stats.max_value > 100);  // counts, not stars
  auto bad = run_recsys({"generate", "--users", "2", "--items", "4", "--ratings", "2", "--values", "plays"}, dir);
  REQUIRE(bad.status == 2);
  REQUIRE_THAT(bad.err, Catch::Contains("stars") && Catch::Contains("counts"));
}

TEST_CASE("--values says what the value column holds: counts add up, ratings replace, and both are checked") {
  TempDir dir;
  auto plays = dir.write("plays.csv", "user,item,plays\nu1,i1,120\nu1,i1,3\nu2,i1,7\n");
  auto res = run_recsys({db_arg(dir), "import", "--values", "counts", plays.string()}, dir);
  REQUIRE(res.status == 0);
  REQUIRE_THAT(res.out, Catch::Contains("ratings stored  2 (implicit feedback)"));
  {
    auto db = open_db(dir, store::OpenMode::ReadOnly);
    REQUIRE(dump(db).ratings == std::vector<Row>{Row{"u1", "i1", 123.0f, 0}, Row{"u2", "i1", 7.0f, 0}});
  }
  // Appended counts add to the stored ones; the data stays implicit.
  auto more = dir.write("more.csv", "user,item,plays\nu1,i1,2\n");
  REQUIRE(run_recsys({db_arg(dir), "import", "--append", "--values", "counts", more.string()}, dir).status == 0);
  {
    auto db = open_db(dir, store::OpenMode::ReadOnly);
    auto d = dump(db);
    REQUIRE(d.ratings.at(0) == Row{"u1", "i1", 125.0f, 0});
    REQUIRE(d.stats.feedback == store::Feedback::Implicit);
  }
  // The same file as ratings (the default when every file has a value column): the last one wins.
  REQUIRE(run_recsys({db_arg(dir), "import", "--replace", "--values", "ratings", plays.string()}, dir).status == 0);
  {
    auto db = open_db(dir, store::OpenMode::ReadOnly);
    auto d = dump(db);
    REQUIRE(d.ratings.at(0) == Row{"u1", "i1", 3.0f, 0});
    REQUIRE(d.stats.feedback == store::Feedback::Explicit);
  }
  // Ratings need a value column: refused, nothing written.
  auto pairs = dir.write("pairs.csv", "u9,i9\n");
  auto refused = run_recsys({db_arg(dir), "import", "--replace", "--values", "ratings", plays.string(), pairs.string()}, dir);
  REQUIRE(refused.status == 2);
  REQUIRE_THAT(refused.err, Catch::Contains("--values ratings needs a value column in every file, and " +
                                            pairs.string() + " has none"));
  auto bad = run_recsys({db_arg(dir), "import", "--replace", "--values", "plays", plays.string()}, dir);
  REQUIRE(bad.status == 2);
  REQUIRE_THAT(bad.err, Catch::Contains("counts"));
  {
    auto db = open_db(dir, store::OpenMode::ReadOnly);
    auto d = dump(db);
    REQUIRE(d.ratings == std::vector<Row>{Row{"u1", "i1", 3.0f, 0}, Row{"u2", "i1", 7.0f, 0}});
    REQUIRE(d.stats.feedback == store::Feedback::Explicit);
  }
  // Without --values, a value column the header names as a count reads as counts, and the summary says so.
  auto detected = run_recsys({db_arg(dir), "import", "--replace", plays.string()}, dir);
  REQUIRE(detected.status == 0);
  REQUIRE_THAT(detected.out, Catch::Contains("(implicit feedback)\n                the values of 'plays' in " +
                                             plays.string() + " are counts: duplicates and events add up"));
  {
    auto db = open_db(dir, store::OpenMode::ReadOnly);
    REQUIRE(dump(db).ratings.at(0) == Row{"u1", "i1", 123.0f, 0});
  }
  auto stars = dir.write("stars.csv", "user,item,rating\nu1,i1,4\nu1,i1,2\n");
  auto rated = run_recsys({db_arg(dir), "import", "--replace", stars.string()}, dir);
  REQUIRE(rated.status == 0);
  REQUIRE_THAT(rated.out, Catch::Contains("(explicit feedback)\n"));
  auto db = open_db(dir, store::OpenMode::ReadOnly);
  REQUIRE(dump(db).ratings == std::vector<Row>{Row{"u1", "i1", 2.0f, 0}});
}

TEST_CASE("ratings and counts are not mixed without --values; with it, appending or importing at once agree") {
  // Before, an append merged by the file's own kind: 10 plays then a rating of
  // 4 stored 4 (the plays lost), while importing both files at once stored 14
  // (the rating summed as plays). Neither says what the data means.
  TempDir dir;
  auto plays = dir.write("plays.csv", "user,item,plays\nu1,song1,10\nu2,song1,3\n");
  auto stars = dir.write("stars.csv", "user,item,rating\nu1,song1,4\nu1,song2,5\nu1,song2,1\n");
  auto clicks = dir.write("clicks.csv", "u1,song1\nu1,song1\n");  // no value column: 1 per row
  auto import = [&](const std::string& db, std::vector<std::string> args) {
    args.insert(args.begin(), {"--db", (dir / db).string(), "import"});
    return run_recsys(args, dir);
  };
  auto rows_of = [&](const std::string& name, store::Feedback kind) {
    auto db = store::Database::open({dir / name, store::OpenMode::ReadOnly});
    auto d = dump(db);
    REQUIRE(d.stats.feedback == kind);
    return d.ratings;
  };
  // In one import.
  auto mixed = import("once", {plays.string(), stars.string()});
  REQUIRE(mixed.status == 2);
  REQUIRE_THAT(mixed.err, Catch::Contains(stars.string() + " holds ratings and this import also reads the counts "
                                          "'plays' in " + plays.string() + ": one import stores one kind of value"));
  REQUIRE_FALSE(std::filesystem::exists(dir / "once"));
  REQUIRE(import("once", {"--values", "counts", plays.string(), stars.string()}).status == 0);
  std::vector<Row> summed{Row{"u1", "song1", 14.0f, 0}, Row{"u1", "song2", 6.0f, 0}, Row{"u2", "song1", 3.0f, 0}};
  REQUIRE(rows_of("once", store::Feedback::Implicit) == summed);
  // Ratings appended onto counts: refused, then added as counts when asked.
  REQUIRE(import("twice", {plays.string()}).status == 0);
  auto onto_counts = import("twice", {"--append", stars.string()});
  REQUIRE(onto_counts.status == 2);
  REQUIRE_THAT(onto_counts.err, Catch::Contains("the stored values are counts (implicit feedback) and " +
                                                stars.string() + " holds ratings"));
  REQUIRE(import("twice", {"--append", "--values", "ratings", stars.string()}).status == 2);
  REQUIRE(import("twice", {"--append", "--values", "counts", stars.string()}).status == 0);
  REQUIRE(rows_of("twice", store::Feedback::Implicit) == summed);
  // Counts (or clicks) appended onto ratings: refused, then the ratings become counts when asked.
  REQUIRE(import("stars", {stars.string()}).status == 0);
  auto onto_ratings = import("stars", {"--append", plays.string()});
  REQUIRE(onto_ratings.status == 2);
  REQUIRE_THAT(onto_ratings.err, Catch::Contains("the stored values are ratings (explicit feedback) and this import "
                                                 "reads the counts 'plays'"));
  REQUIRE(import("stars", {"--append", clicks.string()}).status == 2);
  auto asked = import("stars", {"--append", "--values", "counts", clicks.string()});
  REQUIRE(asked.status == 0);
  REQUIRE_THAT(asked.out, Catch::Contains("the stored ratings are counts from now on"));
  REQUIRE(rows_of("stars", store::Feedback::Implicit) ==
          std::vector<Row>{Row{"u1", "song1", 6.0f, 0}, Row{"u1", "song2", 1.0f, 0}});
}

TEST_CASE("kill -9 during a large import leaves the previous state, and the database opens") {
  TempDir dir;
  auto small = dir.write("small.csv", "user,item,rating\na,x,1\nb,y,2\n");
  REQUIRE(run_recsys({db_arg(dir), "import", small.string()}, dir).status == 0);
  Dump before;
  {
    auto db = open_db(dir, store::OpenMode::ReadOnly);
    before = dump(db);
  }
  auto big = (dir / "big.csv").string();
  // A few million rows, so the import is still running when it is killed
  // (fewer under the sanitizers, which slow everything several times).
  const char* sanitized = std::getenv("RECSYS_SANITIZED");
  std::string rows = sanitized && *sanitized ? "1000000" : "3000000";
  REQUIRE(run_recsys({"generate", "--users", "40000", "--items", "5000", "--ratings", rows, "--output", big}, dir)
              .status == 0);
  // Kill when the write transaction has begun (the debug line before it), or
  // earlier in a second round: both must leave the old state.
  for (int round = 0; round < 2; ++round) {
    Process p({recsys_bin(), db_arg(dir), "--log-level=debug", "import", "--replace", big}, dir.path());
    auto start = std::chrono::steady_clock::now();
    bool in_write = false;
    while (std::chrono::steady_clock::now() - start < std::chrono::seconds(120)) {
      if (round == 0 && p.current_stderr().find("grouped by user") != std::string::npos) {
        in_write = true;
        break;
      }
      if (round == 1 && std::chrono::steady_clock::now() - start > std::chrono::milliseconds(300)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    p.signal(SIGKILL);
    auto res = p.wait();
    if (res.status == 0) {
      WARN("the import finished before the kill (round " << round << "): nothing to check");
      continue;
    }
    REQUIRE(res.status == 128 + SIGKILL);
    if (round == 0) REQUIRE(in_write);
    auto db = open_db(dir, store::OpenMode::ReadOnly);
    REQUIRE(dump(db) == before);
  }
}
