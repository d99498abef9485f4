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

TEST_CASE("precompute folds in the users whose ratings changed after train read them; a retrain takes them in") {
  TempDir dir;
  auto db = trained_db(dir);  // --split none: the model saw every rating, and train stored whose
  auto late = dir.write("late.csv", "user,item,rating\nu1,c,5\nu1,e,5\n");
  REQUIRE(run_recsys({"--db", db, "import", late.string(), "--append"}, dir).status == 0);
  auto pre = run_recsys({"--db", db, "precompute", "--k", "3", "--json"}, dir);
  INFO(pre.err);
  REQUIRE(pre.status == 0);
  REQUIRE(pre.out.find(R"("changed_users":1})") != std::string::npos);
  REQUIRE(pre.err.find("folded in 1 users whose ratings changed since the model was trained") != std::string::npos);
  auto r = run_recsys({"--db", db, "recommend", "u1", "--json"}, dir);
  REQUIRE(r.status == 0);
  REQUIRE(r.out.find(R"("source":"model")") != std::string::npos);
  for (const char* rated : {"\"a\"", "\"b\"", "\"c\"", "\"d\"", "\"e\""}) REQUIRE(r.out.find(rated) == std::string::npos);
  auto check = run_recsys({"--db", db, "check"}, dir);
  INFO(check.out << check.err);
  REQUIRE(check.status == 0);
  // The next model is fitted on those ratings: nobody is folded in.
  REQUIRE(run_recsys({"--db", db, "train", "--split", "none", "--factors", "2", "--iterations", "2"}, dir).status == 0);
  pre = run_recsys({"--db", db, "precompute", "--k", "3", "--json"}, dir);
  REQUIRE(pre.status == 0);
  REQUIRE(pre.out.find(R"("changed_users":0})") != std::string::npos);
}

TEST_CASE("recommend and similar print control characters in ids and metadata escaped in text, raw bytes never") {
  TempDir dir;
  auto db = trained_db(dir);
  // JSON escapes: ESC, a C1 control (U+009B, CSI on some terminals), a tab and a newline.
  auto items = dir.write("items.jsonl",
                         "{\"id\":\"a\",\"title\":\"\\u001b[2Jcleared\\u009b\",\"note\":\"x\\ty\\nz\"}\n"
                         "{\"id\":\"b\",\"title\":\"plain \\u00e9t\\u00e9\"}\n");
  auto stored = run_recsys({"--db", db, "items", items.string()}, dir);
  INFO(stored.err);
  REQUIRE(stored.status == 0);
  auto text = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--db", db});
    auto r = run_recsys(args, dir);
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    for (char c : r.out) REQUIRE((static_cast<unsigned char>(c) >= 0x20 || c == '\n'));
    REQUIRE(r.out.find("\xc2\x9b") == std::string::npos);
    return r.out;
  };
  // The fallback lists a, b, c (most rated first): both items' metadata.
  auto rec = text({"recommend", "stranger", "--k", "3"});
  REQUIRE_THAT(rec, Catch::Contains("\\x1b[2Jcleared\\u009b  [note: x\\x09y\\x0az]"));
  REQUIRE_THAT(rec, Catch::Contains("plain \xc3\xa9t\xc3\xa9"));  // other UTF-8 is kept
  // similar: the item's own title in the header.
  REQUIRE_THAT(text({"similar", "a", "--k", "3"}), Catch::StartsWith("item a \"\\x1b[2Jcleared\\u009b\" (model 1"));
  // JSON output keeps the values as stored (escaped by JSON's rules).
  auto json = run_recsys({"--db", db, "similar", "b", "--k", "3", "--json"}, dir);
  REQUIRE_THAT(json.out, Catch::Contains("\\u001b[2Jcleared"));
  // Error messages quote input too: an unknown item's id is escaped on stderr (raw before).
  auto unknown = run_recsys({"--db", db, "similar", "x\x1b[2Jy"}, dir);
  REQUIRE(unknown.status == 1);
  REQUIRE_THAT(unknown.err, Catch::Contains("unknown item 'x\\x1b[2Jy'"));
  REQUIRE(unknown.err.find('\x1b') == std::string::npos);
  // An id no table can hold: unknown, not LMDB's MDB_BAD_VALSIZE.
  for (const std::string& id : {std::string(), std::string(600, 'z')}) {
    auto odd = run_recsys({"--db", db, "similar", id}, dir);
    CHECK(odd.status == 1);
    CHECK_THAT(odd.err, Catch::Contains("unknown item") && !Catch::Contains("MDB_"));
  }
}
