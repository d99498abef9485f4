// recsys import-factors: a model trained by Spark ALS, served by recsys.
#include <catch2/catch.hpp>

#include <filesystem>

#include "process.hpp"
#include "temp_dir.hpp"

using namespace recsys::test;

namespace {
// Two users and three items in two factor dimensions: user 1 likes dimension 0
// (item 10), user 2 dimension 1 (item 20); item 30 sits in between.
void write_spark_output(const TempDir& dir) {
  std::filesystem::create_directories(dir / "userFactors");
  std::filesystem::create_directories(dir / "itemFactors");
  dir.write("userFactors/part-00000-abc.json",
            "{\"id\":1,\"features\":[1.0,0.0]}\n{\"id\":2,\"features\":[0.0,1.0]}\n");
  dir.write("userFactors/_SUCCESS", "");
  dir.write("itemFactors/part-00000-abc.json", "{\"id\":10,\"features\":[0.9,0.1]}\n");
  dir.write("itemFactors/part-00001-abc.json",
            "{\"id\":20,\"features\":[0.1,0.9]}\n{\"id\":30,\"features\":[0.5,0.5]}\n");
}

// DIR/db holding `ratings` and a generation imported from the factor CSVs
// `users` and `items`, precomputed.
std::string precomputed_import(const TempDir& dir, const std::string& ratings, const std::string& users,
                               const std::string& items) {
  auto db = (dir / "db").string();
  REQUIRE(run_recsys({"--db", db, "import", dir.write("r.csv", ratings).string()}, dir).status == 0);
  REQUIRE(run_recsys({"--db", db, "import-factors", "--users", dir.write("users.csv", users).string(), "--items",
                      dir.write("items.csv", items).string()},
                     dir).status == 0);
  REQUIRE(run_recsys({"--db", db, "precompute"}, dir).status == 0);
  return db;
}
}  // namespace

TEST_CASE("Spark ALS factors are imported as a generation that precompute serves") {
  TempDir dir;
  write_spark_output(dir);
  auto db = (dir / "db").string();
  // Ratings first: they give seen items and the popularity fallback.
  auto ratings = dir.write("r.csv", "user,item,rating\n1,30,4\n2,30,5\n3,10,1\n");
  REQUIRE(run_recsys({"--db", db, "import", ratings.string()}, dir).status == 0);

  auto imported = run_recsys({"--db", db, "import-factors", "--users", (dir / "userFactors").string(), "--items",
                              (dir / "itemFactors").string()},
                             dir);
  INFO(imported.err);
  REQUIRE(imported.status == 0);
  REQUIRE(imported.out.find("model generation 1") != std::string::npos);
  REQUIRE(run_recsys({"--db", db, "precompute", "--k", "2"}, dir).status == 0);

  auto user1 = run_recsys({"--db", db, "recommend", "1", "--json"}, dir);
  REQUIRE(user1.status == 0);
  // Item 30 was rated by user 1, so 10 then 20.
  REQUIRE(user1.out.find(R"("source":"model")") != std::string::npos);
  auto pos10 = user1.out.find(R"("item":"10")");
  auto pos20 = user1.out.find(R"("item":"20")");
  REQUIRE(pos10 != std::string::npos);
  REQUIRE(pos20 != std::string::npos);
  REQUIRE(pos10 < pos20);
  REQUIRE(user1.out.find(R"("item":"30")") == std::string::npos);

  auto user2 = run_recsys({"--db", db, "recommend", "2", "--json"}, dir);
  REQUIRE(user2.out.find(R"("item":"20")") < user2.out.find(R"("item":"10")"));
}

TEST_CASE("an id map turns Spark's indexes back into the original ids") {
  TempDir dir;
  write_spark_output(dir);
  auto db = (dir / "db").string();
  auto users_map = dir.write("users.csv", "id,index\nalice,1\nbob,2\n");
  auto items_map = dir.write("items.csv", "movie-a\t10\nmovie-b\t20\nmovie-c\t30\n");
  auto ratings = dir.write("r.csv", "user,item\nalice,movie-c\nbob,movie-c\n");
  REQUIRE(run_recsys({"--db", db, "import", ratings.string()}, dir).status == 0);
  auto imported = run_recsys({"--db", db, "import-factors", "--users", (dir / "userFactors").string(), "--items",
                              (dir / "itemFactors").string(), "--user-map", users_map.string(), "--item-map",
                              items_map.string()},
                             dir);
  INFO(imported.err);
  REQUIRE(imported.status == 0);
  REQUIRE(run_recsys({"--db", db, "precompute"}, dir).status == 0);
  auto alice = run_recsys({"--db", db, "recommend", "alice", "--json"}, dir);
  REQUIRE(alice.out.find(R"({"item":"movie-a")") != std::string::npos);
  REQUIRE(alice.out.find(R"("source":"model")") != std::string::npos);
  // A first row whose index is not a whole number ("1.0" is one: Spark's
  // double column) is a bad row, not a header (it was skipped, and the error
  // blamed index 1 of the factor files).
  for (const char* index : {"-1", "1.5", "0.5", "1e3"}) {
    auto bad_map = dir.write("bad-map.csv", std::string("alice,") + index + "\nbob,2\n");
    auto r = run_recsys({"--db", db, "import-factors", "--users", (dir / "userFactors").string(), "--items",
                         (dir / "itemFactors").string(), "--user-map", bad_map.string()},
                        dir);
    INFO(r.err);
    CHECK(r.status == 1);
    CHECK(r.err.find(bad_map.string() + ":1: index '" + index + "' is not a whole number") != std::string::npos);
  }
}

TEST_CASE("malformed factor files are refused and store nothing") {
  TempDir dir;
  write_spark_output(dir);
  auto db = (dir / "db").string();
  REQUIRE(run_recsys({"--db", db, "import", dir.write("r.csv", "u,i\n1,10\n").string()}, dir).status == 0);
  auto items = (dir / "itemFactors").string();

  struct Case {
    const char* content;
    const char* message;
  };
  for (const Case& c : {Case{"{\"id\":1,\"features\":[1.0]}\n", "1 features"},
                        Case{"{\"id\":1,\"features\":[1.0,2.0]}\n{\"id\":1,\"features\":[1.0,2.0]}\n", "twice"},
                        Case{"{\"id\":1,\"features\":[1.0,\"x\"]}\n", "bad.json:1"},
                        Case{"1,0.5,zz\n", "'zz' is not a number"},
                        // A second object on the line was dropped, a repeated key read once.
                        Case{"{\"id\":1,\"features\":[1,2]} {\"id\":2,\"features\":[3,4]}\n", "bad.json:1: not a factor row"},
                        Case{"{\"id\":1,\"features\":[1,2],\"features\":[5,6]}\n", "\"features\" appears twice"},
                        Case{"{\"id\":1,\"id\":2,\"features\":[1,2]}\n", "\"id\" appears twice"},
                        Case{"{\"id\":1.5,\"features\":[1,2]}\n", "must be a string or a whole number"},
                        // 2^53 + 1 reads as 2^53: not an id a double can tell apart.
                        Case{"{\"id\":9007199254740993.0,\"features\":[1,2]}\n", "below 2^53"},
                        Case{"\"a,1,2\n", "bad.json:1: the quoted field at column 1 is not closed"},
                        Case{"", "no factor rows"}}) {
    INFO(c.content);
    auto bad = dir.write("bad.json", c.content);
    auto r = run_recsys({"--db", db, "import-factors", "--users", bad.string(), "--items", items}, dir);
    REQUIRE(r.status == 1);
    REQUIRE(r.err.find(c.message) != std::string::npos);
  }
  auto info = run_recsys({"--db", db, "info", "--json"}, dir);
  REQUIRE(info.status == 0);
  REQUIRE(info.out.find("\"generations\":[]") != std::string::npos);
}

TEST_CASE("Spark users without stored ratings get model lists, and the fallback ranks items by factor length") {
  TempDir dir;
  write_spark_output(dir);
  auto db = (dir / "db").string();
  auto imported = run_recsys({"--db", db, "import-factors", "--users", (dir / "userFactors").string(), "--items",
                              (dir / "itemFactors").string()},
                             dir);
  INFO(imported.err);
  REQUIRE(imported.status == 0);
  auto pre = run_recsys({"--db", db, "precompute", "--k", "3"}, dir);
  INFO(pre.err);
  REQUIRE(pre.status == 0);
  REQUIRE(pre.out.find("2 user lists") != std::string::npos);

  // User 1 = (1, 0): item 10 scores 0.9, item 30 0.5, item 20 0.1.
  auto user1 = run_recsys({"--db", db, "recommend", "1", "--json"}, dir);
  REQUIRE(user1.status == 0);
  REQUIRE(user1.out ==
          R"({"user":"1","model":1,"source":"model","items":[{"item":"10","score":0.9},{"item":"30","score":0.5},)"
          R"({"item":"20","score":0.1}]})"
          "\n");
  // Unknown users: items by the length of their factors (10 and 20: 0.9055; 30: 0.7071).
  auto stranger = run_recsys({"--db", db, "recommend", "stranger", "--json"}, dir);
  REQUIRE(stranger.status == 0);
  REQUIRE(stranger.out == R"({"user":"stranger","model":1,"source":"fallback","items":[{"item":"10","score":0.9055},)"
                          R"({"item":"20","score":0.9055},{"item":"30","score":0.7071}]})"
                          "\n");
}

TEST_CASE("after the first ratings of an imported model, the fallback still lists every item with factors") {
  TempDir dir;
  write_spark_output(dir);
  auto db = (dir / "db").string();
  REQUIRE(run_recsys({"--db", db, "import-factors", "--users", (dir / "userFactors").string(), "--items",
                      (dir / "itemFactors").string()},
                     dir)
              .status == 0);
  // One rating arrives (an event or an import) for item 30, the shortest row.
  REQUIRE(run_recsys({"--db", db, "import", "--append", dir.write("r.csv", "user,item\n7,30\n").string()}, dir)
              .status == 0);
  REQUIRE(run_recsys({"--db", db, "precompute", "--k", "3"}, dir).status == 0);
  // Rated items first (score = ratings), then the others by factor length,
  // score 0. Before: item 30 alone, the fallback cut to the items rated so far.
  auto stranger = run_recsys({"--db", db, "recommend", "stranger", "--json"}, dir);
  REQUIRE(stranger.status == 0);
  CHECK(stranger.out == R"({"user":"stranger","model":1,"source":"fallback","items":[{"item":"30","score":1},)"
                        R"({"item":"10","score":0},{"item":"20","score":0}]})"
                        "\n");

  // A model recsys trained lists only rated items: the others are items whose
  // ratings were replaced away since.
  auto own = (dir / "own").string();
  REQUIRE(run_recsys({"--db", own, "import", dir.write("all.csv", "user,item\n1,a\n2,a\n2,b\n3,c\n").string()}, dir)
              .status == 0);
  REQUIRE(run_recsys({"--db", own, "train", "--split", "none", "--factors", "2", "--iterations", "2"}, dir).status == 0);
  REQUIRE(run_recsys({"--db", own, "import", "--replace", dir.write("a.csv", "user,item\n1,a\n").string()}, dir)
              .status == 0);
  REQUIRE(run_recsys({"--db", own, "precompute"}, dir).status == 0);
  auto only_a = run_recsys({"--db", own, "recommend", "stranger", "--json"}, dir);
  CHECK_THAT(only_a.out, Catch::EndsWith(R"("source":"fallback","items":[{"item":"a","score":1}]})"
                                         "\n"));
}

namespace {
// A CSV factor file of ids 1..rows, each row `width` copies of `value`.
std::string factor_rows(int rows, int width, const std::string& value) {
  std::string out;
  for (int r = 1; r <= rows; ++r) {
    out += std::to_string(r);
    for (int k = 0; k < width; ++k) out += "," + value;
    out += "\n";
  }
  return out;
}
}  // namespace

TEST_CASE("factor rows wider than 4096 features, as train allows, are refused at import with file:line") {
  TempDir dir;
  auto db = (dir / "db").string();
  auto users = dir.write("users.csv", factor_rows(2, 4096, "0.5"));
  auto items = dir.write("items.csv", factor_rows(2, 4096, "0.5"));
  auto ok = run_recsys({"--db", db, "import-factors", "--users", users.string(), "--items", items.string()}, dir);
  INFO(ok.err);
  REQUIRE(ok.status == 0);
  REQUIRE(ok.out.find("of 4096 features imported") != std::string::npos);

  auto wide = dir.write("wide.csv", factor_rows(2, 4097, "0.5"));
  auto r = run_recsys({"--db", db, "import-factors", "--users", wide.string(), "--items", wide.string()}, dir);
  REQUIRE(r.status == 1);
  REQUIRE(r.err.find(wide.string() + ":1: 4097 features, more than 4096") != std::string::npos);
}

TEST_CASE("factor values whose products would overflow a float are refused; 1e12 still scores") {
  TempDir dir;
  auto db = (dir / "db").string();
  auto items = dir.write("items.csv", "10,1e12,0\n20,0,-1e12\n30,1e12,1e12\n");
  for (const char* value : {"3e38", "-1.5e12"}) {
    auto users = dir.write("users.csv", std::string("1,0.5,") + value + "\n");
    auto r = run_recsys({"--db", db, "import-factors", "--users", users.string(), "--items", items.string()}, dir);
    INFO(r.err);
    REQUIRE(r.status == 1);
    REQUIRE(r.err.find(users.string() + ":1: feature ") != std::string::npos);
    REQUIRE(r.err.find("is larger in magnitude than 1e+12") != std::string::npos);
  }
  // At the bound, scores (2e24) are finite: user 1 gets a model list.
  auto users = dir.write("users.csv", "1,1e12,1e12\n");
  auto ok = run_recsys({"--db", db, "import-factors", "--users", users.string(), "--items", items.string()}, dir);
  INFO(ok.err);
  REQUIRE(ok.status == 0);
  REQUIRE(run_recsys({"--db", db, "precompute", "--k", "3"}, dir).status == 0);
  auto user1 = run_recsys({"--db", db, "recommend", "1", "--json"}, dir);
  REQUIRE(user1.out.find(R"("source":"model","items":[{"item":"30")") != std::string::npos);
}

TEST_CASE("id maps with an original id that is not UTF-8 or maps to two indexes are refused with file:line") {
  TempDir dir;
  write_spark_output(dir);
  auto db = (dir / "db").string();
  auto users_map = dir.write("users.csv", "id,index\nalice,1\nbob,2\n");
  auto import = [&](const std::filesystem::path& items_map) {
    return run_recsys({"--db", db, "import-factors", "--users", (dir / "userFactors").string(), "--items",
                       (dir / "itemFactors").string(), "--user-map", users_map.string(), "--item-map",
                       items_map.string()},
                      dir);
  };
  auto latin1 = dir.write("latin1.csv", "movie-a,10\ncaf\xe9,20\nmovie-c,30\n");
  auto r = import(latin1);
  REQUIRE(r.status == 1);
  REQUIRE(r.err.find(latin1.string() + ":2: original id 'caf\\xe9' is not valid UTF-8") != std::string::npos);

  // item-5 -> 10 and item-5 -> 20: one stored item for two factor rows.
  auto twice = dir.write("twice.csv", "item-5,10\nitem-5,20\nmovie-c,30\n");
  r = import(twice);
  REQUIRE(r.status == 1);
  REQUIRE(r.err.find(twice.string() + ":2: original id 'item-5' appears twice (line 1 maps it to index 10)") !=
          std::string::npos);

  // Ids 10 and 10.0 are one index, so one original id. In JSON they are one
  // number, so one id twice; in a CSV two texts that map to one index.
  dir.write("itemFactors/part-00002-abc.json", "{\"id\":10.0,\"features\":[0.2,0.2]}\n");
  auto fine = dir.write("fine.csv", "movie-a,10\nmovie-b,20\nmovie-c,30\n");
  r = import(fine);
  REQUIRE(r.status == 1);
  REQUIRE(r.err.find("part-00002-abc.json:1: id '10' appears twice") != std::string::npos);
  std::filesystem::remove(dir / "itemFactors/part-00002-abc.json");
  auto csv_items = dir.write("items10.csv", "10,0.9,0.1\n20,0.1,0.9\n10.0,0.2,0.2\n");
  r = run_recsys({"--db", db, "import-factors", "--users", (dir / "userFactors").string(), "--items",
                  csv_items.string(), "--item-map", fine.string()},
                 dir);
  REQUIRE(r.status == 1);
  REQUIRE(r.err.find("factor rows 10 and 10.0 both map to original id 'movie-a'") != std::string::npos);

  // Without a map the factor files' own ids are checked the same way.
  auto bad_ids = dir.write("bad_ids.csv", "caf\xe9,0.5,0.5\n");
  r = run_recsys({"--db", db, "import-factors", "--users", bad_ids.string(), "--items", bad_ids.string()}, dir);
  REQUIRE(r.status == 1);
  REQUIRE(r.err.find(bad_ids.string() + ":1: id 'caf\\xe9' is not valid UTF-8") != std::string::npos);
  REQUIRE(!std::filesystem::exists(db));  // refused before the database is opened
}

TEST_CASE("items without factors are never listed, by precompute or after an event") {
  // Factors for some items only: the others got zero rows, scored 0 for
  // everyone, and were listed as "model" items above every item the model
  // scores below 0, in index order; similar lists had them at cosine 0.
  TempDir dir;
  const auto db = precomputed_import(dir,
                                     "user,item,rating\nu1,i1,5\nu1,i2,4\nu2,i2,3\nu2,i3,5\nu3,i4,1\nu3,i5,2\nu4,i1,3\n"
                                     "u5,i3,2\nu5,i4,2\n",
                                     "u1,-1,-1\nu2,1,1\nu5,1,1\n", "i3,1,0.5\ni4,0.5,1\n");
  auto listed = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv{"--db", db};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_recsys(argv, dir);
    INFO(r.err);
    REQUIRE(r.status == 0);
    return r.out;
  };
  const auto u1 = listed({"recommend", "u1", "--json"});
  INFO(u1);
  CHECK_THAT(u1, Catch::Contains("\"i3\"") && Catch::Contains("\"i4\""));
  CHECK_THAT(u1, !Catch::Contains("\"i5\"") && !Catch::Contains("\"source\":\"fallback\""));
  const auto similar = listed({"similar", "i3", "--json"});
  INFO(similar);
  CHECK_THAT(similar, Catch::Contains("\"i4\""));
  for (const char* none : {"\"i1\"", "\"i2\"", "\"i5\""}) CHECK_THAT(similar, !Catch::Contains(none));
  // u3 rated i4 and i5: folded in, its list holds i3 only.
  const auto u3 = listed({"recommend", "u3", "--json"});
  INFO(u3);
  CHECK_THAT(u3, Catch::Contains("\"i3\""));
  for (const char* none : {"\"i1\"", "\"i2\""}) CHECK_THAT(u3, !Catch::Contains(none));
  // u5 rated both items with factors: no model list at all. It gets the
  // fallback without its items, never an empty "model" list.
  const auto u5 = listed({"recommend", "u5", "--json"});
  INFO(u5);
  CHECK_THAT(u5, Catch::Contains("\"source\":\"fallback\"") && !Catch::Contains("\"items\":[]"));
  for (const char* none : {"\"i3\"", "\"i4\""}) CHECK_THAT(u5, !Catch::Contains(none));
}

TEST_CASE("the only item with factors gets the fallback as its similar items, not an empty model list") {
  TempDir dir;
  const auto db =
      precomputed_import(dir, "user,item\nu1,i1\nu1,i2\nu2,i2\nu2,i3\n", "u1,1,0\nu2,0,1\n", "i3,1,1\n");
  auto similar = run_recsys({"--db", db, "similar", "i3", "--json"}, dir);
  INFO(similar.out << similar.err);
  REQUIRE(similar.status == 0);
  CHECK_THAT(similar.out, Catch::Contains("\"source\":\"fallback\"") && !Catch::Contains("\"items\":[]"));
  // u2 rated i3, the only item with factors.
  auto u2 = run_recsys({"--db", db, "recommend", "u2", "--json"}, dir);
  INFO(u2.out);
  CHECK_THAT(u2.out, Catch::Contains("\"source\":\"fallback\"") && !Catch::Contains("\"items\":[]"));
  auto check = run_recsys({"--db", db, "check"}, dir);
  INFO(check.out << check.err);
  CHECK(check.status == 0);
}

TEST_CASE("spaces around an id in a factor CSV are not part of it, as in a ratings file") {
  TempDir dir;
  auto db = (dir / "db").string();
  auto ratings = dir.write("r.csv", "user,item,rating\n1,10,5\n2,20,4\n");
  REQUIRE(run_recsys({"--db", db, "import", ratings.string()}, dir).status == 0);
  auto users = dir.write("users.csv", "1 ,0.5,0.5\n 2,0.1,0.9\n");
  auto items = dir.write("items.csv", "10,1,0\n 20 ,0,1\n");
  auto imported = run_recsys({"--db", db, "import-factors", "--users", users.string(), "--items", items.string()}, dir);
  INFO(imported.out << imported.err);
  REQUIRE(imported.status == 0);
  // Before: users "1 " and " 2" and items " 20 " were added beside 1, 2 and 20.
  auto info = run_recsys({"--db", db, "info", "--json"}, dir);
  CHECK_THAT(info.out, Catch::Contains("\"users\":2,") && Catch::Contains("\"items\":2,"));
}

TEST_CASE("ids in factor CSVs and id maps are read as CSV, as the ratings are: quotes, commas, 3.0 indexes, Spark directories") {
  TempDir dir;
  auto db = (dir / "db").string();
  // Spark's CSV writer quotes an id holding a comma; a StringIndexer's index
  // column is a double, written 0.0; a JSON number id 2.0 is the user "2".
  auto ratings = dir.write("r.csv", "user,item\n\"x,y\",10\nspaced,20\n2,10\n");
  REQUIRE(run_recsys({"--db", db, "import", ratings.string()}, dir).status == 0);
  auto users = dir.write("users.csv", "0,1,0\n1,0,1\n");
  std::filesystem::create_directories(dir / "user_map");
  dir.write("user_map/part-00000-abc.csv", "label,index\n\"x,y\",0.0\n");
  dir.write("user_map/part-00001-abc.csv", "label,index\n spaced ,1\n");
  dir.write("user_map/_SUCCESS", "");
  auto items = dir.write("items.csv", "\"10\",0.9,0.1\n 20 ,0.1,0.9\n");
  auto r = run_recsys({"--db", db, "import-factors", "--users", users.string(), "--items", items.string(), "--user-map",
                       (dir / "user_map").string()},
                      dir);
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  // Before: users "\"x,y\"" and " spaced " and the item "\"10\"" were added beside
  // the stored ones, which kept no factors; the map file's "0.0" was refused.
  auto info = run_recsys({"--db", db, "info", "--json"}, dir);
  CHECK_THAT(info.out, Catch::Contains("\"users\":3,") && Catch::Contains("\"items\":2,"));
  REQUIRE(run_recsys({"--db", db, "precompute"}, dir).status == 0);
  auto xy = run_recsys({"--db", db, "recommend", "x,y", "--json"}, dir);
  CHECK_THAT(xy.out, Catch::Contains("\"source\":\"model\",\"items\":[{\"item\":\"20\""));

  auto json_users = dir.write("users.json", "{\"id\":2.0,\"features\":[0,1]}\n");
  auto db2 = (dir / "db2").string();
  REQUIRE(run_recsys({"--db", db2, "import", ratings.string()}, dir).status == 0);
  r = run_recsys({"--db", db2, "import-factors", "--users", json_users.string(), "--items", items.string()}, dir);
  REQUIRE(r.status == 0);
  info = run_recsys({"--db", db2, "info", "--json"}, dir);
  CHECK_THAT(info.out, Catch::Contains("\"users\":3,"));  // before: a user "2.0" beside "2"

  // An unquoted line splits at its last separator, as maps were always read:
  // "New York, NY,0" maps index 0 to "New York, NY". A tab-separated map is
  // told by its first line with text, blank lines before it or not.
  auto db3 = (dir / "db3").string();
  REQUIRE(run_recsys({"--db", db3, "import", dir.write("ny.csv", "user,item\n\"New York, NY\",10\nb,20\n").string()},
                     dir)
              .status == 0);
  auto ny_map = dir.write("ny_map.csv", "New York, NY,0\nb,1\n");
  auto tab_map = dir.write("tab_map.tsv", "\n\nm10\t10\nm20\t20\n");
  r = run_recsys({"--db", db3, "import-factors", "--users", users.string(), "--items", items.string(), "--user-map",
                  ny_map.string(), "--item-map", tab_map.string()},
                 dir);
  INFO(r.err);
  REQUIRE(r.status == 0);
  info = run_recsys({"--db", db3, "info", "--json"}, dir);
  CHECK_THAT(info.out, Catch::Contains("\"users\":2,"));

  // A header of three columns: the third (a count) was read as the index.
  auto three = dir.write("three.csv", "orig,index,count\nNew York, NY,0,1\nb,1,0\n");
  r = run_recsys({"--db", db3, "import-factors", "--users", users.string(), "--items", items.string(), "--user-map",
                  three.string()},
                 dir);
  REQUIRE(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("three.csv:1: the header names 3 columns; a map has two"));
  // JSON lines after leading spaces are JSON.
  auto spaced = dir.write("spaced.json", "  {\"id\":\"b\",\"features\":[0,1]}\n");
  r = run_recsys({"--db", db3, "import-factors", "--users", spaced.string(), "--items", items.string()}, dir);
  INFO(r.err);
  CHECK(r.status == 0);
}
