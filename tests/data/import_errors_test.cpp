// Bad input: every malformed row is reported as FILE:LINE: reason, counted and
// skipped while the rest imports; --strict stops at the first and writes
// nothing; files without valid rows are errors.
#include <catch2/catch.hpp>

#include "data/chunk_parser.hpp"
#include "import_support.hpp"

using namespace recsys;
using namespace recsys::test;

namespace {
bool has_error(const data::ImportReport& rep, const std::string& text) {
  for (const auto& e : rep.errors)
    if (e == text) return true;
  return false;
}
}  // namespace

TEST_CASE("each malformed row gets its own reason and line number; the good rows import") {
  TempDir dir;
  auto db = open_db(dir);
  std::string long_id(600, 'x');
  std::string text =
      "user,item,rating,timestamp\n"  // 1
      "good1,i1,4,100\n"              // 2
      "lonely\n"                      // 3
      ",i1,3,1\n"                     // 4
      "u1,,3,1\n"                     // 5
      "u1,i1,abc,1\n"                 // 6
      "u1,i1,nan,1\n"                 // 7
      "u1,i1,-inf,1\n"                // 8
      "u1,i1,-1,1\n"                  // 9
      "u1,i1,1e30,1\n"                // 10
      "u1,i1,4,yesterday\n"           // 11
      "u1#x,i1,3,1\n"                 // 12
      "\xff\xfe,i1,3,1\n"             // 13
      "\"open,i1,3,1\n"               // 14
      + long_id + ",i1,3,1\n"         // 15
      "u1,i1,,1\n"                    // 16
      "Would watch again, 5 stars\",4,1\n"  // 17: the rest of a quoted field that spanned lines
      "\n"                            // 18: blank lines are not rows
      "good2,i2,5,200\n";             // 19
  text[text.find("u1#x") + 2] = '\0';
  auto rep = import_text(db, dir, "bad.csv", text);
  auto path = (dir / "bad.csv").string();
  auto at = [&](int line, const std::string& reason) { return path + ":" + std::to_string(line) + ": " + reason; };
  CHECK(has_error(rep, at(3, "expected at least 4 fields, found 1")));
  CHECK(has_error(rep, at(4, "empty user id")));
  CHECK(has_error(rep, at(5, "empty item id")));
  CHECK(has_error(rep, at(6, "rating 'abc' is not a number")));
  CHECK(has_error(rep, at(7, "rating 'nan' is not a finite number")));
  CHECK(has_error(rep, at(8, "rating '-inf' is not a finite number")));
  CHECK(has_error(rep, at(9, "rating '-1' is negative")));
  CHECK(has_error(rep, at(10, "rating '1e30' is larger than 1e+09")));
  CHECK(has_error(rep, at(11, "timestamp 'yesterday' is neither seconds since 1970 nor an ISO 8601 date (2005-09-06, 2005-09-06T14:03:00Z)")));
  CHECK(has_error(rep, at(12, "NUL byte in line (binary data?)")));
  CHECK(has_error(rep, at(13, "user id '\\xff\\xfe' is not valid UTF-8")));
  CHECK(has_error(rep, at(14, "unterminated quoted field (a quoted field cannot span lines)")));
  CHECK(has_error(rep, at(15, "user id is longer than 510 bytes")));
  CHECK(has_error(rep, at(16, "empty rating")));
  CHECK(has_error(rep, at(17, "a quote inside an unquoted field (quote the whole field and double its quotes)")));
  REQUIRE(rep.skipped == 15);
  REQUIRE(rep.errors.size() == 15);
  REQUIRE(rep.rows_read == 17);
  REQUIRE(rep.imported == 2);
  auto d = dump(db);
  REQUIRE(d.users == std::vector<std::string>{"good1", "good2"});
  REQUIRE(d.ratings.size() == 2);
}

TEST_CASE("UTF-8 ids are accepted, overlong and surrogate encodings are not") {
  REQUIRE(data::is_valid_utf8("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x8e\xb5"));
  REQUIRE_FALSE(data::is_valid_utf8("\xc0\xaf"));          // overlong '/'
  REQUIRE_FALSE(data::is_valid_utf8("\xed\xa0\x80"));      // surrogate
  REQUIRE_FALSE(data::is_valid_utf8("\xe6\x97"));          // truncated
  REQUIRE_FALSE(data::is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  TempDir dir;
  auto db = open_db(dir);
  import_text(db, dir, "r.csv", "caf\xc3\xa9,\xe6\x97\xa5,4\n");
  REQUIRE(dump(db).users == std::vector<std::string>{"caf\xc3\xa9"});
}

TEST_CASE("only the first errors are listed; all are counted") {
  TempDir dir;
  auto db = open_db(dir);
  std::string text = "u,i,5\n";
  for (int k = 0; k < 50; ++k) text += "u,i,bad\n";
  auto rep = import_text(db, dir, "r.csv", text);
  REQUIRE(rep.skipped == 50);
  REQUIRE(rep.errors.size() == 20);
}

TEST_CASE("very long lines are errors, not crashes, and the next rows still import") {
  TempDir dir;
  auto db = open_db(dir);
  SECTION("a 1 MB user id") {
    std::string text = "a,b,1\n" + std::string(1000000, 'u') + ",i,3\nc,d,2\n";
    auto rep = import_text(db, dir, "r.csv", text);
    REQUIRE(rep.skipped == 1);
    REQUIRE(rep.errors[0].ends_with(":2: user id is longer than 510 bytes"));
    REQUIRE(dump(db).ratings.size() == 2);
  }
  SECTION("a line over the 1 MiB limit") {
    std::string text = "a,b,1\nx," + std::string(data::kMaxLineBytes + 10, 'i') + ",3\nc,d,2\n";
    auto rep = import_text(db, dir, "r.csv", text);
    REQUIRE(rep.skipped == 1);
    REQUIRE(rep.errors[0].ends_with(":2: line is longer than 1048576 bytes"));
    REQUIRE(dump(db).ratings.size() == 2);
  }
  SECTION("a line longer than the read block is skipped without being held whole") {
    auto o = quiet_options();
    o.chunk_bytes = 64 * 1024;
    std::string text = "a,b,1\n" + std::string(300 * 1024, 'z') + "\nc,d,2\n";
    auto rep = import_text(db, dir, "r.csv", text, o);
    REQUIRE(rep.skipped == 1);
    REQUIRE(rep.errors[0].ends_with(":2: line is longer than 65536 bytes"));
    REQUIRE(dump(db).ratings.size() == 2);
  }
}

TEST_CASE("--strict: the first malformed row aborts and the database is exactly as before") {
  TempDir dir;
  auto db = open_db(dir);
  import_text(db, dir, "first.csv", "user,item,rating\nu1,i1,4\nu2,i2,3\n");
  Dump before = dump(db);
  auto o = quiet_options();
  o.strict = true;
  std::string text = "user,item,rating\nu3,i3,5\nu1,i9,2\nu4,i4,oops\n";
  auto path = dir.write("second.csv", text);
  REQUIRE_THROWS_WITH(data::import_files(db, {path.string()}, o),
                      path.string() + ":4: rating 'oops' is not a number (--strict: nothing imported)");
  REQUIRE(dump(db) == before);
  o.append = true;
  o.replace = false;
  REQUIRE_THROWS(data::import_files(db, {path.string()}, o));
  REQUIRE(dump(db) == before);
}

TEST_CASE("files without valid rows are errors and write nothing") {
  TempDir dir;
  auto db = open_db(dir);
  import_text(db, dir, "ok.csv", "u1,i1,4\n");
  Dump before = dump(db);
  REQUIRE_THROWS_WITH(import_text(db, dir, "empty.csv", ""), Catch::Contains("no valid rating rows (the file is empty)"));
  REQUIRE_THROWS_WITH(import_text(db, dir, "header.csv", "user,item,rating\n"),
                      Catch::Contains("no valid rating rows (only a header)"));
  // Lines ended by CR alone read as one line, which was called "only a header".
  REQUIRE_THROWS_WITH(import_text(db, dir, "mac.csv", "user,item,rating\ru1,i1,4\ru2,i1,3\r"),
                      Catch::Contains("mac.csv: its lines end in a carriage return alone") &&
                          Catch::Contains("tr '\\r' '\\n'"));
  REQUIRE_THROWS_WITH(import_text(db, dir, "bad.csv", "u1,i1,x\nu2,i2,y\n"),
                      Catch::Contains("no valid rating rows (2 malformed; the first: ") &&
                          Catch::Contains("bad.csv:1: rating 'x' is not a number"));
  // A good file next to an empty one: still nothing is written.
  auto good = dir.write("good.csv", "u5,i5,1\n");
  auto empty = dir.write("empty2.csv", "\n\n");
  REQUIRE_THROWS(data::import_files(db, {good.string(), empty.string()}, quiet_options()));
  REQUIRE(dump(db) == before);
  REQUIRE_THROWS_WITH(data::import_files(db, {(dir / "nope.csv").string()}, quiet_options()),
                      Catch::Contains("cannot open") && Catch::Contains("nope.csv"));
}
