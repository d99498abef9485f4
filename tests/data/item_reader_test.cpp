// Item metadata files (recsys items): every format from small inline files,
// Latin-1 bytes, quoted commas, bad rows, and the real MovieLens files when
// they are present.
#include <catch2/catch.hpp>

#include <algorithm>

#include "data/chunk_parser.hpp"
#include "data/item_reader.hpp"
#include "temp_dir.hpp"
#include "util/error.hpp"

using namespace recsys;
using namespace recsys::data;

namespace {

std::string json_of(const ItemReadResult& r, std::string_view id) {
  auto it = std::find_if(r.items.begin(), r.items.end(), [&](const store::ItemMeta& m) { return m.id == id; });
  return it == r.items.end() ? std::string("<absent>") : it->json;
}

ItemReadResult parse(std::string_view text, ItemReadOptions options = {}) {
  return parse_item_file(text, "f", options);
}

// u.item rows: id|title|release|video release|URL|19 flags.
const std::string kFlagsComedy = "0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0";
const std::string kFlagsHorrorWar = "0|0|0|0|0|0|0|0|0|0|0|1|0|0|0|0|0|1|0";

}  // namespace

TEST_CASE("u.item: Latin-1 titles become UTF-8 and genre flags become u.genre's names") {
  std::string text = "242|Kolya (1996)|24-Jan-1997||http://x|" + kFlagsComedy + "\n" +
                     "1|Mis\xE9rables, Les (1995)|01-Jan-1995||http://y|" + kFlagsHorrorWar + "\r\n";
  auto r = parse(text);
  REQUIRE(r.format == ItemFormat::UItem);
  REQUIRE(r.encoding == Encoding::Latin1);
  REQUIRE(r.fields == std::vector<std::string>{"title", "genres"});
  REQUIRE(json_of(r, "242") == R"j({"title":"Kolya (1996)","genres":["Comedy"]})j");
  REQUIRE(json_of(r, "1") == "{\"title\":\"Mis\xC3\xA9rables, Les (1995)\",\"genres\":[\"Horror\",\"War\"]}");
  REQUIRE(r.items.front().id == "1");  // sorted by id for the one write
}

TEST_CASE("u.item: --fields adds the dates and URL, empty values are left out") {
  ItemReadOptions o;
  o.fields = "release_date,imdb_url";
  auto r = parse("5|Copycat (1995)|01-Jan-1995||http://c|" + kFlagsComedy + "\n", o);
  REQUIRE(r.fields == std::vector<std::string>{"title", "release_date", "imdb_url"});
  REQUIRE(json_of(r, "5") == R"j({"title":"Copycat (1995)","release_date":"01-Jan-1995","imdb_url":"http://c"})j");
  o.fields = "year";
  REQUIRE_THROWS_WITH(parse("5|C|x||u|" + kFlagsComedy + "\n", o),
                      Catch::Contains("--fields names 'year' but the file has: title, release_date"));
}

TEST_CASE("movies.csv: quoted titles keep their commas, genres split on |, no genres is an empty list") {
  auto r = parse(
      "movieId,title,genres\n"
      "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
      "11,\"American President, The (1995)\",Comedy|Drama|Romance\n"
      "12,\"Dracula: \"\"Dead\"\" and Loving It (1995)\",Comedy|Horror\n"
      "114335,La cravate (1957),(no genres listed)\n");
  REQUIRE(r.format == ItemFormat::Movies);
  REQUIRE(r.rows_read == 4);
  REQUIRE(json_of(r, "11") == R"j({"title":"American President, The (1995)","genres":["Comedy","Drama","Romance"]})j");
  REQUIRE(json_of(r, "12") == R"j({"title":"Dracula: \"Dead\" and Loving It (1995)","genres":["Comedy","Horror"]})j");
  REQUIRE(json_of(r, "114335") == R"j({"title":"La cravate (1957)","genres":[]})j");
}

TEST_CASE("generic CSV and TSV: a header names the fields, --columns picks and renames them") {
  auto csv = parse("sku,name,year,tags\nA-1,Red shoe,2020,sport|red\nB-2,\"Hat, blue\",2019,\n");
  REQUIRE(csv.format == ItemFormat::Csv);
  REQUIRE(csv.fields == std::vector<std::string>{"name", "year", "tags"});  // no "title" column: column 0 is the id
  // A column with '|' in any value is a list.
  REQUIRE(json_of(csv, "A-1") == R"j({"name":"Red shoe","year":"2020","tags":["sport","red"]})j");
  REQUIRE(json_of(csv, "B-2") == R"j({"name":"Hat, blue","year":"2019","tags":[]})j");

  ItemReadOptions o;
  o.columns = "sku,title=name,tags";
  auto picked = parse("sku,name,year,tags\nA-1,Red shoe,2020,sport\n", o);
  REQUIRE(picked.fields == std::vector<std::string>{"title", "tags"});
  REQUIRE(json_of(picked, "A-1") == R"j({"title":"Red shoe","tags":"sport"})j");

  o.columns = "1,title=0,genre=2";
  auto tsv = parse("Heat\tm7\tAction\nUp\tm8\tAnimation\n", o);
  REQUIRE(tsv.format == ItemFormat::Tsv);
  REQUIRE(tsv.rows_read == 2);  // no header: every --columns entry is an index
  REQUIRE(json_of(tsv, "m7") == R"j({"title":"Heat","genre":"Action"})j");

  o.columns = "id,color";
  REQUIRE_THROWS_AS(parse("id,title\n1,x\n", o), UsageError);
}

TEST_CASE("semicolon-separated CSV items (Book-Crossing's BX-Books.csv) keep quoted commas and semicolons") {
  // Before, the first line was split at commas: one field per row.
  auto bx = parse("\"ISBN\";\"Book-Title\";\"Book-Author\";\"Year-Of-Publication\"\n"
                  "\"0195153448\";\"Classical Mythology\";\"Mark P. O. Morford\";\"2002\"\n"
                  "\"0002005018\";\"Clara Callan; a novel, in \"\"letters\"\"\";\"Richard Bruce Wright\";\"2001\"\n");
  REQUIRE(bx.format == ItemFormat::Csv);
  REQUIRE(bx.skipped == 0);
  REQUIRE(bx.fields == std::vector<std::string>{"Book-Title", "Book-Author", "Year-Of-Publication"});
  REQUIRE(json_of(bx, "0002005018") ==
          R"j({"Book-Title":"Clara Callan; a novel, in \"letters\"","Book-Author":"Richard Bruce Wright","Year-Of-Publication":"2001"})j");
  // A comma file without a header whose first line has more semicolons than
  // commas, inside quotes, stays a comma file (first-line-only detection split
  // it at ';' and stored "m1,\"A" as an item).
  ItemReadOptions o;
  o.columns = "0,title=1,tag=2";
  auto comma = parse("m1,\"A; B; C; D\",x\nm2,plain,y\n", o);
  REQUIRE(comma.skipped == 0);
  REQUIRE(json_of(comma, "m1") == R"j({"title":"A; B; C; D","tag":"x"})j");
  REQUIRE(json_of(comma, "m2") == R"j({"title":"plain","tag":"y"})j");
}

TEST_CASE("JSON lines: strings, numbers and lists are kept with their types") {
  auto r = parse(R"j({"id":"a","title":"Alpha","year":1999,"genres":["Drama"],"note":null})j"
                 "\n"
                 R"j({"movieId":7,"title":"Seven","adult":false})j"
                 "\n");
  REQUIRE(r.format == ItemFormat::Jsonl);
  REQUIRE(r.fields == std::vector<std::string>{"title", "year", "genres", "adult"});
  REQUIRE(json_of(r, "a") == R"j({"title":"Alpha","year":1999,"genres":["Drama"]})j");
  REQUIRE(json_of(r, "7") == R"j({"title":"Seven","adult":false})j");
}

TEST_CASE("JSON lines: members that cannot be stored are named once, not dropped silently") {
  auto r = parse(R"j({"id":"a","title":"Alpha","score":4.5,"item":"x","my field":1})j"
                 "\n"
                 R"j({"id":"b","title":"Beta","score":3})j"
                 "\n");
  REQUIRE(r.fields == std::vector<std::string>{"title"});
  REQUIRE(json_of(r, "a") == R"j({"title":"Alpha"})j");
  REQUIRE(r.dropped.size() == 3);
  REQUIRE(r.dropped[0] == "field name 'score' is reserved (item, score, k, exclude, exclude_*)");
  REQUIRE(r.dropped[1] == "field name 'item' is reserved (item, score, k, exclude, exclude_*)");
  REQUIRE(r.dropped[2] == "field name 'my field' may only hold letters, digits, '_', '-' and '.'");
  REQUIRE(parse(R"j({"id":"a","title":"Alpha","year":1999})j").dropped.empty());
}

TEST_CASE("bad item rows are reported as file:line: reason and skipped; --strict stops at the first") {
  std::string text =
      "movieId,title,genres\n"
      "1,Good (1995),Drama\n"
      "2,\"Unclosed (1995),Drama\n"
      "3,Too,many,fields\n"
      "1,Again (1995),Comedy\n"
      "4,Bad \xFF byte,Drama\n"
      "5,Fine (1996),Comedy\n"
      "6,\"Quoted\" tail (1997),Drama\n"
      "7, \"Spaced, quoted (1998)\" ,Drama\n";
  ItemReadOptions o;
  o.max_bad_fraction = 0.9;
  auto r = parse(text, o);
  REQUIRE(r.rows_read == 8);
  REQUIRE(r.skipped == 5);
  REQUIRE(r.items.size() == 3);
  REQUIRE(r.errors == std::vector<std::string>{
                          "f:3: the quoted field at column 3 is not closed",
                          "f:4: expected 3 fields (movieId,title,genres), found 4",
                          "f:5: item '1' repeats line 2",
                          "f:6: not valid UTF-8 (a Latin-1 file? use --encoding latin-1)",
                          "f:8: unexpected text after a closing quote at column 12",
                      });
  REQUIRE(json_of(r, "1") == R"j({"title":"Good (1995)","genres":["Drama"]})j");  // the first row of an id stays
  // Spaces around a quoted field are not text after it.
  REQUIRE(json_of(r, "7") == R"j({"title":"Spaced, quoted (1998)","genres":["Drama"]})j");
  // Too many bad rows for the default --max-bad-fraction: the wrong file.
  REQUIRE_THROWS_WITH(parse(text), Catch::Contains("5 of 8 rows (62.5%) are bad") && Catch::Contains("nothing stored"));
  o.strict = true;
  REQUIRE_THROWS_WITH(parse(text, o), Catch::Contains("f:3: the quoted field") && Catch::Contains("--strict"));
  o.strict = false;
  o.encoding = Encoding::Latin1;
  REQUIRE(parse(text, o).skipped == 4);  // read as Latin-1, byte FF is ÿ
}

// Read as one line, a movies.csv with classic Mac OS line ends was "no valid
// item rows (only a header)"; a ratings file says what is wrong and how to fix it.
TEST_CASE("an items file whose lines end in a carriage return alone is refused with the fix") {
  REQUIRE_THROWS_WITH(parse("movieId,title,genres\r1,Alpha (1995),Drama\r2,Beta (1996),Comedy\r"),
                      Catch::Contains("f: its lines end in a carriage return alone") &&
                          Catch::Contains("tr '\\r' '\\n'"));
  // CRLF is fine.
  REQUIRE(parse("movieId,title,genres\r\n1,Alpha (1995),Drama\r\n").items.size() == 1);
}

TEST_CASE("generic CSV rows with another field count than the header are bad rows, not shifted fields") {
  // Before, an unquoted comma in a title moved the genre into `year` and a
  // short row lost its fields, both without a word.
  ItemReadOptions o;
  o.max_bad_fraction = 0.9;
  auto r = parse("sku,title,genre,year\n1,Plain,Drama,1990\n2,Title, with comma,Drama,1991\n3,Short\n", o);
  REQUIRE(r.items.size() == 1);
  REQUIRE(r.errors == std::vector<std::string>{"f:3: expected 4 fields as the header has, found 5",
                                                "f:4: expected 4 fields as the header has, found 2"});
  // Without a header (--columns by index) rows may differ: absent columns are absent fields.
  o.columns = "0,title=1,year=3";
  auto loose = parse("1,Plain,x,1990\n2,Short\n", o);
  REQUIRE(loose.skipped == 0);
  REQUIRE(json_of(loose, "2") == R"j({"title":"Short"})j");
}

TEST_CASE("u.item rows with a wrong field count or flag are bad rows; files without items are errors") {
  ItemReadOptions o;
  o.max_bad_fraction = 1.0;
  o.format = ItemFormat::UItem;
  auto r = parse("1|A|d||u|" + kFlagsComedy + "\n2|B|d||u|0|1\n3|C|d||u|" +
                     std::string("2|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0") + "\n",
                 o);
  REQUIRE(r.items.size() == 1);
  REQUIRE_THAT(r.errors[0], Catch::StartsWith("f:2: expected 24 |-separated fields"));
  REQUIRE(r.errors[1] == "f:3: genre flag '2' for unknown (field 6) is not 0 or 1");
  REQUIRE_THROWS_WITH(parse(""), Catch::Contains("no item rows"));
  REQUIRE_THROWS_WITH(parse("movieId,title,genres\n"), Catch::Contains("no valid item rows (only a header)"));
  REQUIRE_THROWS_AS(parse("just words\n"), UsageError);
  REQUIRE_THROWS_AS(parse("id,item\n1,x\n"), UsageError);  // "item" is reserved for the entry's id
}

TEST_CASE("the real ml-100k u.item and ml-latest-small movies.csv read without a bad row") {
  auto dir = test::shared_data_dir();
  if (dir.empty() || !std::filesystem::exists(dir / "ml-100k/u.item")) {
    WARN("RECSYS_SHARED_DATA has no MovieLens files: skipped");
    return;
  }
  auto uitem = read_item_file((dir / "ml-100k/u.item").string(), {});
  REQUIRE(uitem.items.size() == 1682);
  REQUIRE(uitem.skipped == 0);
  REQUIRE(uitem.encoding == Encoding::Latin1);
  REQUIRE(json_of(uitem, "242") == R"j({"title":"Kolya (1996)","genres":["Comedy"]})j");
  REQUIRE(json_of(uitem, "1") == R"j({"title":"Toy Story (1995)","genres":["Animation","Children's","Comedy"]})j");
  if (!std::filesystem::exists(dir / "ml-latest-small/movies.csv")) return;
  auto movies = read_item_file((dir / "ml-latest-small/movies.csv").string(), {});
  REQUIRE(movies.format == ItemFormat::Movies);
  REQUIRE(movies.items.size() == 9742);
  REQUIRE(movies.skipped == 0);
  REQUIRE(json_of(movies, "11") == R"j({"title":"American President, The (1995)","genres":["Comedy","Drama","Romance"]})j");
}

TEST_CASE("rows over the size limits are bad rows; only the fields that are kept count") {
  ItemReadOptions o;
  o.max_bad_fraction = 0.9;
  std::string genres;
  for (int g = 0; g < 1000; ++g) genres += "Genre" + std::to_string(1000 + g) + "|";  // 10 bytes each
  std::string text = "movieId,title,genres\n"
                     "1," + std::string(kMaxTitleBytes, 't') + ",Drama\n"
                     "2," + std::string(kMaxTitleBytes + 1, 't') + ",Drama\n"
                     "3,Many genres," + genres + "\n"
                     "4," + std::string(kMaxLineBytes, 'x') + ",Drama\n"
                     "2,Second try,Drama\n";
  auto r = parse(text, o);
  REQUIRE(r.errors == std::vector<std::string>{
                          "f:3: the title is 1025 bytes long, more than 1024",
                          // "title" + "Many genres" + "genres" + 1000 · (9 + 1)
                          "f:4: the item's stored fields are 10022 bytes, more than 8192 (leave long fields out with "
                          "--fields)",
                          "f:5: line is longer than 1048576 bytes",
                      });
  REQUIRE(r.skipped == 3);
  REQUIRE_THAT(json_of(r, "1"), Catch::StartsWith("{\"title\":\"" + std::string(kMaxTitleBytes, 't') + "\","));
  REQUIRE(json_of(r, "2") == R"j({"title":"Second try","genres":["Drama"]})j");  // the refused row hid nothing

  // A long field that is not kept does not make the row bad.
  std::string uitem = "7|Long URL (1995)|01-Jan-1995||http://" + std::string(10000, 'u') + "|" + kFlagsComedy + "\n";
  REQUIRE(parse(uitem).items.size() == 1);
  o.fields = "imdb_url";
  REQUIRE_THROWS_WITH(parse(uitem, o), Catch::Contains("f:1: the item's stored fields are 10035 bytes"));
  std::string csv = "id,title,description\n8,Short,\"" + std::string(9000, 'd') + "\"\n";
  o.fields = "title";
  REQUIRE(parse(csv, o).items.size() == 1);
  o.fields.clear();
  REQUIRE_THROWS_WITH(parse(csv, o), Catch::Contains("f:2: the item's stored fields are 9021 bytes"));

  // Empty strings in a JSON list count one byte each: a list cannot grow unbounded.
  std::string empties = "[\"\"";
  for (int k = 1; k < 9000; ++k) empties += ",\"\"";
  REQUIRE_THROWS_WITH(parse("{\"id\":9,\"tags\":" + empties + "]}\n", o),
                      Catch::Contains("f:1: the item's stored fields are 9004 bytes"));
}
