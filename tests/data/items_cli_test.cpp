// recsys items with the real binary and a real database: titles land in the
// cached lists, recommend / similar / info show them, a re-run replaces them,
// and a bad file changes nothing.
#include <catch2/catch.hpp>

#include "process.hpp"
#include "temp_dir.hpp"
#include "toy_ratings.hpp"

using namespace recsys::test;

namespace {

const char* kMovies =
    "movieId,title,genres\n"
    "a,Alpha (1990),Comedy\nb,\"Beta, The (1991)\",Drama|Horror\nc,Gamma (1992),Comedy|Drama\n"
    "d,Delta (1993),Horror\ne,Epsilon (1994),(no genres listed)\nf,Zeta (1995),Comedy\n"
    "zz,Not Rated Yet (2001),Drama\n";

struct Db {
  TempDir dir;
  std::string path = (dir / "db").string();
  RunResult run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--db", path});
    return run_recsys(args, dir);
  }
};

void train(Db& db) {
  auto csv = db.dir.write("r.csv", kToyRatings);
  auto t = db.run({"train", csv.string(), "--split", "none", "--factors", "2", "--iterations", "2"});
  INFO(t.err);
  REQUIRE(t.status == 0);
  REQUIRE(db.run({"precompute", "--k", "3"}).status == 0);
}

}  // namespace

TEST_CASE("recsys items puts titles in recommend, similar and info, and a re-run replaces them") {
  Db db;
  train(db);
  auto movies = db.dir.write("movies.csv", kMovies);
  auto items = db.run({"items", movies.string()});
  INFO(items.err);
  REQUIRE(items.status == 0);
  REQUIRE_THAT(items.out, Catch::Contains("items stored    7 (6 in the ratings, 1 not yet"));
  REQUIRE_THAT(items.out, Catch::Contains("fields          title, genres"));

  // The cached lists were rewritten in the same transaction: no precompute needed.
  auto rec = db.run({"recommend", "u5", "--json"});
  REQUIRE(rec.status == 0);
  REQUIRE_THAT(rec.out, Catch::Contains(R"j("title":"Beta, The (1991)","genres":["Drama","Horror"]})j") ||
                            Catch::Contains(R"j("title":"Gamma (1992)","genres":["Comedy","Drama"]})j"));
  auto fallback = db.run({"recommend", "nobody", "--json"});
  REQUIRE_THAT(fallback.out, Catch::Contains(R"("source":"fallback")") && Catch::Contains(R"(,"title":")"));
  auto similar = db.run({"similar", "a"});
  REQUIRE(similar.status == 0);
  REQUIRE_THAT(similar.out, Catch::StartsWith("item a \"Alpha (1990)\"") && Catch::Contains("[genres: "));
  auto info = db.run({"info", "--json"});
  REQUIRE_THAT(info.out, Catch::Contains(R"j("item_metadata":{"items":7,"fields":["title","genres"]})j"));
  REQUIRE(db.run({"check"}).status == 0);

  // A new file replaces everything: items it lacks lose their metadata.
  auto tsv = db.dir.write("names.tsv", "id\ttitle\na\tA new name\nb\tB new name\nc\tC\nd\tD\ne\tE\nf\tF\n");
  REQUIRE(db.run({"items", tsv.string()}).status == 0);
  rec = db.run({"recommend", "nobody", "--json"});
  REQUIRE_THAT(rec.out, !Catch::Contains("genres") && !Catch::Contains("(199"));
  REQUIRE_THAT(db.run({"similar", "a", "--json"}).out, Catch::Contains(R"j(,"title":")j"));
  info = db.run({"info", "--json"});
  REQUIRE_THAT(info.out, Catch::Contains(R"j("item_metadata":{"items":6,"fields":["title"]})j"));
  REQUIRE(db.run({"check"}).status == 0);
  // A precompute keeps the titles.
  REQUIRE(db.run({"precompute", "--k", "3"}).status == 0);
  REQUIRE_THAT(db.run({"similar", "b", "--json"}).out, Catch::Contains(R"j(,"title":")j"));
}

TEST_CASE("recsys items with a bad file exits 1 with file:line reasons and changes nothing") {
  Db db;
  train(db);
  auto movies = db.dir.write("movies.csv", kMovies);
  REQUIRE(db.run({"items", movies.string()}).status == 0);
  auto before = db.run({"recommend", "u1", "--json"}).out;

  auto bad = db.dir.write("bad.csv", "movieId,title,genres\na,\"Open,Drama\nb,x,y,z\nc,Fine,Drama\n");
  auto res = db.run({"items", bad.string()});
  REQUIRE(res.status == 1);
  REQUIRE_THAT(res.err, Catch::Contains(bad.string() + ":2: the quoted field at column 3 is not closed"));
  REQUIRE_THAT(res.err, Catch::Contains("nothing stored"));
  res = db.run({"items", "--strict", "--max-bad-fraction", "0.9", bad.string()});
  REQUIRE(res.status == 1);
  REQUIRE_THAT(res.err, Catch::Contains("--strict"));
  // Allowed bad rows are listed on stderr and the rest is stored.
  res = db.run({"items", "--max-bad-fraction", "0.9", bad.string()});
  REQUIRE(res.status == 0);
  REQUIRE_THAT(res.err, Catch::Contains(bad.string() + ":3: expected 3 fields (movieId,title,genres), found 4"));
  REQUIRE_THAT(res.out, Catch::Contains("items stored    1 (1 in the ratings"));
  REQUIRE(db.run({"items", movies.string()}).status == 0);
  REQUIRE(db.run({"recommend", "u1", "--json"}).out == before);

  REQUIRE(db.run({"items", "--format", "xml", movies.string()}).status == 2);
  REQUIRE(db.run({"items", "--fields", "year", movies.string()}).status == 2);
  // One name for two columns: before, the title came back as a one-element
  // list under that name and the genres were gone, with exit 0.
  res = db.run({"items", "--format", "csv", "--columns", "movieId,name=title,name=genres", movies.string()});
  REQUIRE(res.status == 2);
  REQUIRE_THAT(res.err, Catch::Contains("two columns are named 'name' (in --columns: name each once)"));
  auto twice = db.dir.write("twice.csv", "id,name,name\na,x,y\n");
  res = db.run({"items", twice.string()});
  REQUIRE(res.status == 2);
  REQUIRE_THAT(res.err, Catch::Contains("two columns are named 'name' (in the header: give --columns with distinct names)"));
  // --columns on a file read as MovieLens movies.csv was ignored, with exit 0.
  res = db.run({"items", "--columns", "movieId,item=title", movies.string()});
  REQUIRE(res.status == 2);
  REQUIRE_THAT(res.err, Catch::Contains("--columns applies to csv and tsv files, and this one is read as movies"));
  // A column past the header's: the field was dropped from every row with
  // exit 0, and the stored titles were gone. (Headerless rows may differ in
  // length: a column a row lacks is a field it lacks.)
  auto three = db.dir.write("three.csv", "id,title,genres\na,Alpha,x\n");
  res = db.run({"items", "--format", "csv", "--columns", "0,title=9", three.string()});
  REQUIRE(res.status == 2);
  REQUIRE_THAT(res.err, Catch::Contains("--columns gives column 9 but the header has 3 (0 to 2)"));
  REQUIRE(db.run({"items", (db.dir / "missing.csv").string()}).status == 1);
  REQUIRE(db.run({"recommend", "u1", "--json"}).out == before);
}

TEST_CASE("metadata of items the ratings do not know yet is used once ratings bring them") {
  Db db;
  auto movies = db.dir.write("movies.csv", kMovies);
  // Items before any rating: the database is created for them.
  auto first = db.run({"items", movies.string()});
  REQUIRE(first.status == 0);
  REQUIRE_THAT(first.out, Catch::Contains("items stored    7 (0 in the ratings, 7 not yet"));
  auto csv = db.dir.write("r.csv", std::string(kToyRatings) + "u1,zz,5\nu2,zz,4\nu3,zz,5\nu4,zz,3\nu5,zz,4\nu6,zz,2\n");
  REQUIRE(db.run({"train", csv.string(), "--split", "none", "--factors", "2", "--iterations", "2"}).status == 0);
  REQUIRE(db.run({"precompute", "--k", "2"}).status == 0);
  auto fallback = db.run({"recommend", "nobody", "--json"});
  REQUIRE_THAT(fallback.out, Catch::Contains(R"j({"item":"zz","score":6,"title":"Not Rated Yet (2001)","genres":["Drama"]})j"));
}

TEST_CASE("recsys items skips rows with a huge title or list as bad rows, and the lists stay small") {
  Db db;
  train(db);
  std::string text = kMovies;
  text.append("h,").append(3 << 20, 'T').append(",Drama\n");  // a 3 MiB title
  text.append("i,Many genres,");
  for (int g = 0; g < 100000; ++g) text.append(1, 'g').append(std::to_string(g)).append(1, '|');
  text.append(1, '\n');
  auto movies = db.dir.write("movies.csv", text);
  auto items = db.run({"items", "--max-bad-fraction", "0.5", movies.string()});
  INFO(items.err);
  REQUIRE(items.status == 0);
  REQUIRE_THAT(items.err, Catch::Contains(movies.string() + ":9: line is longer than 1048576 bytes"));
  REQUIRE_THAT(items.err, Catch::Contains(movies.string() + ":10: the item's stored fields are ") &&
                              Catch::Contains("bytes, more than 8192"));
  REQUIRE_THAT(items.out, Catch::Contains("skipped         2 bad rows") &&
                              Catch::Contains("items stored    7 (6 in the ratings, 1 not yet"));
  REQUIRE(db.run({"recommend", "nobody", "--json"}).out.size() < 2000);
  REQUIRE(db.run({"check"}).status == 0);
}
