// Every input format the import detects: header or not, comma / tab / "::",
// CRLF, BOM, RFC 4180 quotes, optional rating and timestamp, --columns,
// --format, gzip and zstd.
#include <catch2/catch.hpp>

#include <zlib.h>
#include <zstd.h>
#include <fmt/format.h>

#include <cmath>

#include "data/format.hpp"
#include "gzip.hpp"
#include "import_support.hpp"
#include "util/error.hpp"
#include "util/iso_time.hpp"

using namespace recsys;
using namespace recsys::test;

namespace {
Row r(std::string u, std::string i, float v, std::int64_t t = 0) { return Row{u, i, v, t}; }
}  // namespace

TEST_CASE("CSV with a header: ids numbered in order of first appearance, explicit ratings") {
  TempDir dir;
  auto db = open_db(dir);
  auto rep = import_text(db, dir, "r.csv", "userId,movieId,rating,timestamp\n7,10,4.5,100\n3,10,3,200\n7,20,5,300\n");
  REQUIRE(rep.rows_read == 3);
  REQUIRE(rep.imported == 3);
  REQUIRE(rep.skipped == 0);
  REQUIRE(rep.feedback == store::Feedback::Explicit);
  auto d = dump(db);
  REQUIRE(d.users == std::vector<std::string>{"7", "3"});
  REQUIRE(d.items == std::vector<std::string>{"10", "20"});
  REQUIRE(d.ratings == std::vector<Row>{r("7", "10", 4.5f, 100), r("7", "20", 5, 300), r("3", "10", 3, 200)});
  REQUIRE(d.stats.count == 3);
  REQUIRE(d.stats.min_value == 3.0f);
  REQUIRE(d.stats.max_value == 5.0f);
}

TEST_CASE("signs and the edges of the number range read as written") {
  TempDir dir;
  auto db = open_db(dir);
  auto rep = import_text(db, dir, "r.csv",
                         "user,item,rating,timestamp\n"
                         "a,i1,+4,+100\n"      // a sign on either
                         "b,i1,-0,-5\n"        // -0 is 0, not "-0"
                         "c,i1,1e-400,0\n"     // below the smallest double: 0, not "not a finite number"
                         "d,i1,+-1,0\n"        // two signs: not a number (was "negative")
                         "e,i1,3,+-7\n"        // the same for a timestamp
                         "f,i1,1e400,0\n");    // above the largest: not finite
  auto path = (dir / "r.csv").string();
  REQUIRE(rep.errors == std::vector<std::string>{path + ":5: rating '+-1' is not a number",
                                                 path + ":6: timestamp '+-7' is neither seconds since 1970 nor an ISO 8601 date (2005-09-06, 2005-09-06T14:03:00Z)",
                                                 path + ":7: rating '1e400' is not a finite number"});
  auto d = dump(db);
  REQUIRE(d.ratings == std::vector<Row>{r("a", "i1", 4, 100), r("b", "i1", 0, -5), r("c", "i1", 0, 0)});
  REQUIRE_FALSE(std::signbit(std::get<2>(d.ratings[1])));
  REQUIRE_FALSE(std::signbit(d.stats.min_value));
}

TEST_CASE("CSV without a header and with string ids") {
  TempDir dir;
  auto db = open_db(dir);
  import_text(db, dir, "r.csv", "u-1,i-9,4\nu-2,i-9,2\n");
  auto d = dump(db);
  REQUIRE(d.ratings == std::vector<Row>{r("u-1", "i-9", 4), r("u-2", "i-9", 2)});
}

TEST_CASE("tab-separated u.data style with timestamps") {
  TempDir dir;
  auto db = open_db(dir);
  import_text(db, dir, "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n");
  auto d = dump(db);
  REQUIRE(d.ratings.size() == 3);
  REQUIRE(d.ratings[0] == r("196", "242", 3, 881250949));
  REQUIRE(d.ratings[2] == r("22", "377", 1, 878887116));
}

TEST_CASE("MovieLens ratings.dat with :: separators") {
  TempDir dir;
  auto db = open_db(dir);
  import_text(db, dir, "ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n");
  auto d = dump(db);
  // Sorted by index (order of first appearance), not by the id's text.
  REQUIRE(d.ratings == std::vector<Row>{r("1", "1193", 5, 978300760), r("1", "661", 3, 978302109),
                                        r("2", "1193", 4, 978298413)});
}

TEST_CASE("a UTF-8 BOM and CRLF line ends do not leak into ids or values") {
  TempDir dir;
  auto db = open_db(dir);
  import_text(db, dir, "r.csv", "\xEF\xBB\xBFuser,item,rating\r\nalice,book,4\r\nbob,book,5\r\n");
  auto d = dump(db);
  REQUIRE(d.users == std::vector<std::string>{"alice", "bob"});
  REQUIRE(d.ratings == std::vector<Row>{r("alice", "book", 4), r("bob", "book", 5)});
}

TEST_CASE("blank lines before the header are skipped with it") {
  TempDir dir;
  auto db = open_db(dir);
  auto rep = import_text(db, dir, "r.csv", "\n \r\nuser,item,rating\nu1,i1,2\n");
  REQUIRE(rep.skipped == 0);
  REQUIRE(dump(db).ratings == std::vector<Row>{r("u1", "i1", 2)});
}

TEST_CASE("RFC 4180 quoted fields may hold commas and doubled quotes") {
  TempDir dir;
  auto db = open_db(dir);
  import_text(db, dir, "r.csv", "user,item,rating\n\"Smith, J.\",\"say \"\"hi\"\"\",4\n\"x\",plain,\"3.5\"\n");
  auto d = dump(db);
  REQUIRE(d.ratings == std::vector<Row>{r("Smith, J.", "say \"hi\"", 4), r("x", "plain", 3.5f)});
}

TEST_CASE("semicolon-separated CSV (Book-Crossing, Excel with a decimal comma) is detected, quotes and all") {
  // Before, such a file was read as one field per line: "cannot tell the user
  // and item columns from the header", though every name in it is known.
  TempDir dir;
  {
    auto db = open_db(dir);
    auto rep = import_text(db, dir, "BX-Book-Ratings.csv",
                           "\"User-ID\";\"ISBN\";\"Book-Rating\"\n\"276725\";\"034545104X\";\"0\"\n"
                           "\"276726\";\"0155061224\";\"5\"\n\"2;7\";\"a \"\"b\"\", c\";\"3\"\n");
    REQUIRE(rep.skipped == 0);
    REQUIRE(dump(db).ratings == std::vector<Row>{r("276725", "034545104X", 0), r("276726", "0155061224", 5),
                                                 r("2;7", "a \"b\", c", 3)});
  }
  {
    // A decimal comma in the ratings; detected under --format csv as well.
    TempDir other;
    auto db = open_db(other);
    auto o = quiet_options();
    o.format = "csv";
    auto rep = import_text(db, other, "r.csv", "userId;movieId;rating;timestamp\n1;31;2,5;100\n1;1029;3,5;200\n2;10;4;300\n", o);
    REQUIRE(rep.skipped == 0);
    REQUIRE(dump(db).ratings ==
            std::vector<Row>{r("1", "31", 2.5f, 100), r("1", "1029", 3.5f, 200), r("2", "10", 4, 300)});
  }
  {
    // Ragged rows: a header of another width, an optional last column. A rule
    // that wanted the same field count on every line fell back to ',' here
    // and stored "0;100;1" as a user of implicit data.
    TempDir other;
    auto db = open_db(other);
    auto rep = import_text(db, other, "r.csv", "user;item;rating\n0;100;1,5\n1;101;2,5;7\n2;102;3,5;8;gut\n");
    REQUIRE(rep.skipped == 0);
    REQUIRE(dump(db).ratings == std::vector<Row>{r("0", "100", 1.5f), r("1", "101", 2.5f), r("2", "102", 3.5f)});
  }
  using data::detect_csv_separator;
  CHECK(detect_csv_separator({"0;100;1,5", "1;101;2,5"}) == ';');  // no header, every rating with a decimal comma
  CHECK(detect_csv_separator({"1,31,2.5,Action;Comedy", "1,32,4,Drama"}) == ',');
  CHECK(detect_csv_separator({"m1,\"A; B; C; D\",x", "m2,plain,y"}) == ',');  // ';' would leave a quote unquoted
  CHECK(detect_csv_separator({"\"a;b\",c,d", "e,f,g"}) == ',');
  CHECK(detect_csv_separator({"a;b"}) == ';');
  // A row bad either way ("B "x" C") decides nothing: one such row made a Book-Crossing file ','.
  CHECK(detect_csv_separator({"\"ISBN\";\"Title\"", "\"2\";\"B \"x\" C\"", "\"3\";\"D\""}) == ';');
  CHECK(detect_csv_separator({}) == ',');
  {
    // A comma file whose lines hold a semicolon (a list in an extra column)
    // stays a comma file, and there a decimal comma is no number.
    TempDir other;
    auto db = open_db(other);
    auto rep = import_text(db, other, "r.csv", "u1,i1,4,100,Action;Comedy\nu2,i2,3,200,Drama;War\nu3,i3,\"2,5\",300,Western;Film\n");
    REQUIRE(rep.errors == std::vector<std::string>{(other / "r.csv").string() + ":3: rating '2,5' is not a number"});
    REQUIRE(dump(db).ratings == std::vector<Row>{r("u1", "i1", 4, 100), r("u2", "i2", 3, 200)});
  }
}

TEST_CASE("timestamps may be ISO 8601 dates (Netflix Prize, database exports, JavaScript), checked field by field") {
  using util::parse_iso8601;
  CHECK(parse_iso8601("2005-09-06") == 1125964800);
  CHECK(parse_iso8601("2005-09-06T14:03:00Z") == 1126015380);
  CHECK(parse_iso8601("2005-09-06t14:03:00.123456z") == 1126015380);
  CHECK(parse_iso8601("2005-09-06 14:03") == 1126015380);
  CHECK(parse_iso8601("2005-09-06T16:03:00+02:00") == 1126015380);
  CHECK(parse_iso8601("2005-09-06T09:33:00-0430") == 1126015380);
  CHECK(parse_iso8601("2005-09-06T16:03+02") == 1126015380);
  CHECK(parse_iso8601("1969-12-31T23:59:59Z") == -1);
  CHECK(parse_iso8601("2000-02-29") == 951782400);
  CHECK(parse_iso8601("1600-03-01") == -11670912000);
  CHECK(parse_iso8601("9999-12-31T23:59:59Z") == 253402300799);
  CHECK(parse_iso8601("2016-12-31T23:59:60Z") == 1483228800);  // a leap second
  CHECK(parse_iso8601("2005-09-06 14:03:00 UTC") == 1126015380);  // BigQuery, Spark
  CHECK(parse_iso8601("2005-09-06T16:03:00+02:00[Europe/Paris]") == 1126015380);  // Java's ZonedDateTime
  CHECK(parse_iso8601("2005-09-06T14:03:00Z[UTC]") == 1126015380);
  CHECK(parse_iso8601("2005-09-06T14:03:00-00:00") == 1126015380);
  for (const char* bad : {"", "2005", "2005-09", "2005-9-06", "20050906", "2005-02-29", "1900-02-29", "2005-13-01",
                          "2005-00-10", "2005-04-31", "2005-09-06T", "2005-09-06T14", "2005-09-06T24:00",
                          "2005-09-06T14:60", "2005-09-06T14:03:61", "2005-09-06T14:03:00.", "2005-09-06Z",
                          "2005-09-06T14:03:00+", "2005-09-06T14:03:00+02:", "2005-09-06T14:03:00+2400",
                          "2005-09-06T14:03:00Zjunk", "2005-09-06  14:03", "yesterday", "-2005-09-06",
                          "2005-09-06T14:03:00[]", "2005-09-06T14:03:00+02:00[", "2005-09-06 14:03:00 CET",
                          "2005-09-06 UTC"}) {
    INFO(bad);
    CHECK_FALSE(parse_iso8601(bad));
  }
  TempDir dir;
  auto db = open_db(dir);
  auto rep = import_text(db, dir, "r.csv",
                         "user,item,rating,date\nu1,i1,4,2005-09-06\nu2,i1,3,2005-09-06T14:03:00Z\n"
                         "u3,i1,2,2005-09-06 16:03:00+02:00\nu4,i1,1,2005-02-29\nu5,i1,5,1126015380\n"
                         "u6,i1,5,1126015380.00\nu7,i1,5,1126015380.5\n");  // pandas' floats: whole ones only
  const auto path = (dir / "r.csv").string();
  REQUIRE(rep.errors == std::vector<std::string>{
                            path + ":5: timestamp '2005-02-29' is neither seconds since 1970 nor an ISO 8601 date "
                                   "(2005-09-06, 2005-09-06T14:03:00Z)",
                            path + ":8: timestamp '1126015380.5' is neither seconds since 1970 nor an ISO 8601 date "
                                   "(2005-09-06, 2005-09-06T14:03:00Z)"});
  REQUIRE(dump(db).ratings == std::vector<Row>{r("u1", "i1", 4, 1125964800), r("u2", "i1", 3, 1126015380),
                                               r("u3", "i1", 2, 1126015380), r("u5", "i1", 5, 1126015380),
                                               r("u6", "i1", 5, 1126015380)});
}

TEST_CASE("a text column (tag, comment) at the rating or timestamp position is not read as that when no value fits") {
  // Before, MovieLens tags.csv's "tag" and a "comment" column were taken as
  // the rating and the timestamp by their positions, and every row was malformed.
  TempDir dir;
  {
    auto db = open_db(dir);
    auto rep = import_text(db, dir, "tags.csv",
                           "userId,movieId,tag,timestamp\n2,60756,funny,1445714994\n7,89774,Boxing story,1439472215\n");
    REQUIRE(rep.skipped == 0);
    REQUIRE(rep.feedback == store::Feedback::Implicit);
    REQUIRE(dump(db).ratings == std::vector<Row>{r("2", "60756", 1, 1445714994), r("7", "89774", 1, 1439472215)});
  }
  auto layout = [](std::string_view head) { return data::detect_layout(head, data::Format::Auto, {}, "f"); };
  auto noted = layout("user,item,rating,Comment\nu1,i1,5,a 5 inch screen\nu2,i2,4,\nu3,i3,3,ok\n");
  CHECK(noted.rating == 2);
  CHECK(noted.timestamp == data::kNoColumn);
  CHECK(noted.unread == std::vector<data::Layout::Unread>{{"Comment", "timestamp"}});
  // A text column whose values are numbers is read by position as before.
  CHECK(layout("user,item,tag\nu1,i1,4\nu2,i2,x\n").rating == 2);
  // Any other name stays the column by position, its rows failing loudly, so
  // explicit data never turns implicit silently ("overall" = "4.5/5"; a French "note").
  auto overall = layout("user,item,overall,note\nu1,i1,4.5/5,bien\nu2,i2,3/5,bof\n");
  CHECK(overall.rating == 2);
  CHECK(overall.timestamp == 3);
  CHECK(overall.unread.empty());
  // Nothing written there yet, or no header: by position, as before.
  CHECK(layout("user,item,rating,comment\nu1,i1,5,\n").timestamp == 3);
  CHECK(layout("u1,i1,5,great\nu2,i2,4,fine\n").timestamp == 3);
}

TEST_CASE("no rating column: implicit feedback, value 1 per row, repeats add up") {
  TempDir dir;
  auto db = open_db(dir);
  auto rep = import_text(db, dir, "plays.csv", "user,item\nu1,song\nu1,song\nu2,song\nu1,other\n");
  REQUIRE(rep.feedback == store::Feedback::Implicit);
  REQUIRE(rep.duplicates == 1);
  auto d = dump(db);
  REQUIRE(d.ratings == std::vector<Row>{r("u1", "song", 2), r("u1", "other", 1), r("u2", "song", 1)});
  REQUIRE(d.stats.feedback == store::Feedback::Implicit);
}

TEST_CASE("explicit repeats of a (user, item) pair: the last one wins") {
  TempDir dir;
  auto db = open_db(dir);
  auto rep = import_text(db, dir, "r.csv", "u1,i1,1,10\nu2,i1,3,10\nu1,i1,5,20\nu1,i1,4,15\n");
  REQUIRE(rep.duplicates == 2);
  auto d = dump(db);
  REQUIRE(d.ratings == std::vector<Row>{r("u1", "i1", 4, 15), r("u2", "i1", 3, 10)});
}

TEST_CASE("--columns picks columns by header name or by index") {
  TempDir dir;
  auto db = open_db(dir);
  auto o = quiet_options();
  SECTION("names: user and item only, so implicit") {
    o.columns = "userId,movieId";
    import_text(db, dir, "r.csv", "movieId,userId,rating\n10,1,4\n11,1,2\n", o);
    auto d = dump(db);
    REQUIRE(d.ratings == std::vector<Row>{r("1", "10", 1), r("1", "11", 1)});
    REQUIRE(d.stats.feedback == store::Feedback::Implicit);
  }
  SECTION("indexes with an empty rating entry") {
    o.columns = "1,0,,2";
    import_text(db, dir, "r.csv", "10,1,555\n11,2,666\n", o);
    auto d = dump(db);
    REQUIRE(d.ratings == std::vector<Row>{r("1", "10", 1, 555), r("2", "11", 1, 666)});
  }
  SECTION("a name the header does not have is a usage error") {
    o.columns = "user,nosuch";
    REQUIRE_THROWS_AS(import_text(db, dir, "r.csv", "user,item\n1,2\n", o), UsageError);
    REQUIRE(dump(db).ratings.empty());
  }
}

TEST_CASE("header detection by known names or by a non-numeric first value over numbers") {
  using data::detect_layout;
  data::ColumnSpec none;
  REQUIRE(detect_layout("userId,movieId\n1,2\n", data::Format::Auto, none, "f").header);
  REQUIRE(detect_layout("a,b,c\nx,y,4\n", data::Format::Auto, none, "f").header);
  REQUIRE_FALSE(detect_layout("x,y,4\nz,w,5\n", data::Format::Auto, none, "f").header);
  // Opaque ids: one string item id above numeric ones is not enough for a header.
  REQUIRE_FALSE(detect_layout("u1,abc\nu2,17\n", data::Format::Auto, none, "f").header);
  auto tsv = detect_layout("1\t2\t3\t4\n", data::Format::Auto, none, "f");
  REQUIRE(tsv.format == data::Format::Tsv);
  REQUIRE(tsv.rating == 2);
  REQUIRE(tsv.timestamp == 3);
  auto two = detect_layout("1,2\n", data::Format::Auto, none, "f");
  REQUIRE_FALSE(two.has_rating());
  auto named = detect_layout("timestamp,rating,item,user\n", data::Format::Auto, none, "f");
  REQUIRE(named.user == 3);
  REQUIRE(named.item == 2);
  REQUIRE(named.rating == 1);
  REQUIRE(named.timestamp == 0);
  REQUIRE(named.counts_name.empty());
}

TEST_CASE("a value column the header names as a count is recognised as counts") {
  using data::detect_layout;
  data::ColumnSpec none;
  auto clicks = detect_layout("session,product,Clicks\ns1,p1,3\n", data::Format::Auto, none, "f");
  REQUIRE(clicks.user == 0);
  REQUIRE(clicks.rating == 2);
  REQUIRE(clicks.counts_name == "Clicks");  // as the header writes it
  auto views = detect_layout("user_id\tviews\titem_id\n1\t9\t2\n", data::Format::Auto, none, "f");
  REQUIRE(views.header);
  REQUIRE(views.user == 0);
  REQUIRE(views.item == 2);
  REQUIRE(views.rating == 1);
  REQUIRE(views.counts_name == "views");
  // A rating name wins over a count name: the count is then another column, not the value.
  auto both = detect_layout("user,item,count,rating\n", data::Format::Auto, none, "f");
  REQUIRE(both.rating == 3);
  REQUIRE(both.counts_name.empty());
  // Headerless files and --columns by index carry no name.
  REQUIRE(detect_layout("1,2,30\n", data::Format::Auto, none, "f").counts_name.empty());
  data::ColumnSpec by_name;
  by_name.entries = {"u", "i", "plays"};
  REQUIRE(detect_layout("u,i,plays,stars\n", data::Format::Auto, by_name, "f").counts_name == "plays");
}

TEST_CASE("--format overrides detection") {
  TempDir dir;
  auto db = open_db(dir);
  auto o = quiet_options();
  o.format = "tsv";
  // Commas are part of the ids once the separator is a tab.
  import_text(db, dir, "r.txt", "a,1\tb,2\t3\n", o);
  REQUIRE(dump(db).ratings == std::vector<Row>{r("a,1", "b,2", 3)});
  o.format = "xml";
  REQUIRE_THROWS_AS(import_text(db, dir, "r.txt", "a\tb\t3\n", o), UsageError);
}

TEST_CASE("gzip and zstd files import like the plain file") {
  TempDir dir;
  std::string text = "user,item,rating,timestamp\n";
  for (int k = 0; k < 3000; ++k) text += fmt::format("u{},i{},3,{}\n", k % 97, k % 31, k);
  auto plain = dir.write("r.csv", text);
  auto gz_path = (dir / "r.csv.gz").string();
  gzFile gz = gzopen(gz_path.c_str(), "wb");
  REQUIRE(gz);
  REQUIRE(gzwrite(gz, text.data(), static_cast<unsigned>(text.size())) == static_cast<int>(text.size()));
  gzclose(gz);
  std::string zst(ZSTD_compressBound(text.size()), '\0');
  zst.resize(ZSTD_compress(zst.data(), zst.size(), text.data(), text.size(), 3));
  auto zst_path = dir.write("r.csv.zst", zst);
  // A skippable frame first (magic 0x184D2A5?, a 4-byte length, that many
  // bytes), as pzstd writes: read as plain text before, "NUL byte in line".
  std::string skippable("\x53\x2a\x4d\x18\x04\x00\x00\x00\x00\x01\x02\x03", 12);
  auto skip_path = dir.write("r.pz.zst", skippable + zst);

  Dump expected;
  {
    TempDir d1;
    auto db = open_db(d1);
    data::import_files(db, {plain.string()}, quiet_options());
    expected = dump(db);
  }
  // 97 and 31 are coprime: all 3000 (user, item) pairs differ.
  REQUIRE(expected.ratings.size() == 3000);
  for (const auto& path : {gz_path, zst_path.string(), skip_path.string()}) {
    for (std::size_t chunk : {std::size_t{32} << 20, std::size_t{4096}}) {  // one block, or many read ahead
      TempDir d2;
      auto db = open_db(d2);
      auto o = quiet_options();
      o.chunk_bytes = chunk;
      data::import_files(db, {path}, o);
      REQUIRE(dump(db) == expected);
    }
  }
}

TEST_CASE("gzip: concatenated members are one file, zero padding after a member ends it, other trailing bytes are errors") {
  TempDir dir;
  const std::string a = test::gzip_member("u1,i1,5\nu1,i2,3\n"), b = test::gzip_member("u2,i1,4\n");
  const std::vector<Row> both{r("u1", "i1", 5), r("u1", "i2", 3), r("u2", "i1", 4)};
  auto import_bytes = [&](const std::string& bytes) {
    TempDir d;
    auto db = open_db(d);
    data::import_files(db, {dir.write("r.csv.gz", bytes).string()}, quiet_options());
    return dump(db).ratings;
  };
  REQUIRE(import_bytes(a + b) == both);  // cat a.gz b.gz
  // As written to tape or by dd: gzip(1) reads it; before, "unknown compression method".
  REQUIRE(import_bytes(a + b + std::string(3 << 20, '\0')) == both);
  // A member after the padding, or bytes that are no member, would be lost or
  // wrong: gzip -d ignores them with a warning, the import refuses the file.
  REQUIRE_THROWS_WITH(import_bytes(a + std::string(100, '\0') + b), Catch::Contains("bytes after the zero padding"));
  REQUIRE_THROWS_WITH(import_bytes(a + "garbage\n"), Catch::Contains("corrupt gzip data"));
  REQUIRE_THROWS_WITH(import_bytes(a.substr(0, a.size() - 3)), Catch::Contains("truncated gzip data"));
}

TEST_CASE("files compressed in a way recsys does not read are refused by name, before any row is read") {
  TempDir dir;
  // Magic bytes of bzip2, xz, an LZ4 frame and zip, and Hadoop's snappy, which
  // has none (told by the name, its first bytes not being text). Read as text
  // they gave a screen of malformed rows quoting binary bytes.
  struct Case {
    std::string name, bytes, kind;
  };
  for (const Case& c : {Case{"r.csv.bz2", "BZh91AY&SY\x01\x02", "bzip2"},
                        Case{"r.br", "\xc3\xa9\xff\xfe\xa0\xa1", "br (by its name; its first bytes are not text)"},
                        Case{"r.csv.xz", std::string("\xFD" "7zXZ\0\0\x04", 8), "xz"},
                        Case{"r.csv.lz4", std::string("\x04\x22\x4D\x18\x64\x40", 6), "lz4"},
                        Case{"r.zip", std::string("PK\x03\x04\x14\0", 6), "zip"},
                        Case{"part-00000.csv.snappy", std::string("\0\0\0\x08\0\0\0\x0a", 8),
                             "snappy (by its name; its first bytes are not text)"}}) {
    INFO(c.name);
    TempDir d;
    auto db = open_db(d);
    REQUIRE_THROWS_WITH(data::import_files(db, {dir.write(c.name, c.bytes).string()}, quiet_options()),
                        Catch::Contains("it is compressed with " + c.kind + "; recsys reads gzip (.gz), zlib"));
    REQUIRE(dump(db).ratings.empty());
  }
  // Text is text, whatever it starts with or is named: "x^" is a zlib header's
  // 0x78 0x5E, "BZh11A" bzip2's first bytes without a whole block magic after
  // them, and UTF-8 text may be named .snappy.
  for (std::string name : {"x.csv", "b.csv", "t.snappy", "zh.snappy"}) {
    INFO(name);
    TempDir d;
    auto db = open_db(d);
    const std::string id = name == "x.csv"    ? "x^1"
                           : name == "b.csv"  ? "BZh11A"
                           : name == "t.snappy" ? "u1"
                                                : "\xe4\xb8\xad\xe6\x96\x87";
    data::import_files(db, {dir.write(name, id + ",i1,5\n").string()}, quiet_options());
    REQUIRE(dump(db).ratings == std::vector<Row>{r(id, "i1", 5)});
  }
}

TEST_CASE("a zlib stream (Spark's deflate codec) imports like the plain file") {
  TempDir dir;
  const std::string text = "u1,i1,5\nu2,i1,3\n";
  std::string packed(compressBound(static_cast<uLong>(text.size())), '\0');
  uLongf size = static_cast<uLongf>(packed.size());
  REQUIRE(compress2(reinterpret_cast<Bytef*>(packed.data()), &size, reinterpret_cast<const Bytef*>(text.data()),
                    static_cast<uLong>(text.size()), Z_DEFAULT_COMPRESSION) == Z_OK);
  packed.resize(size);
  REQUIRE(static_cast<unsigned char>(packed[1]) == 0x9c);
  auto db = open_db(dir);
  // Before: refused, or read as text ("NUL byte in line").
  data::import_files(db, {dir.write("part-00000.deflate", packed).string()}, quiet_options());
  REQUIRE(dump(db).ratings == std::vector<Row>{r("u1", "i1", 5), r("u2", "i1", 3)});
  // Levels 2-5 start 0x78 0x5E ("x^", which could be text): told by the name.
  std::string level3(compressBound(static_cast<uLong>(text.size())), '\0');
  size = static_cast<uLongf>(level3.size());
  REQUIRE(compress2(reinterpret_cast<Bytef*>(level3.data()), &size, reinterpret_cast<const Bytef*>(text.data()),
                    static_cast<uLong>(text.size()), 3) == Z_OK);
  level3.resize(size);
  REQUIRE(level3.substr(0, 2) == "x^");
  TempDir d3;
  auto db3 = open_db(d3);
  data::import_files(db3, {dir.write("part-00001.deflate", level3).string()}, quiet_options());
  REQUIRE(dump(db3).ratings == std::vector<Row>{r("u1", "i1", 5), r("u2", "i1", 3)});
  // Its errors name zlib, not gzip.
  TempDir d4;
  auto db4 = open_db(d4);
  REQUIRE_THROWS_WITH(
      data::import_files(db4, {dir.write("cut.deflate", packed.substr(0, packed.size() - 6)).string()}, quiet_options()),
      Catch::Contains("cut.deflate: truncated zlib data"));
}

TEST_CASE("several files in one import share the id maps") {
  TempDir dir;
  auto db = open_db(dir);
  auto a = dir.write("a.csv", "user,item,rating\nu1,i1,4\n");
  auto b = dir.write("b.tsv", "u2\ti1\t5\nu1\ti2\t3\n");
  auto rep = data::import_files(db, {a.string(), b.string()}, quiet_options());
  REQUIRE(rep.imported == 3);
  auto d = dump(db);
  REQUIRE(d.users == std::vector<std::string>{"u1", "u2"});
  REQUIRE(d.ratings == std::vector<Row>{r("u1", "i1", 4), r("u1", "i2", 3), r("u2", "i1", 5)});
}
