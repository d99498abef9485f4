// What an import does to what is stored: re-import replaces ratings but keeps
// ids, --append merges with the duplicate policy, results do not depend on
// chunking or threads, the map grows, and real MovieLens files import to
// their known sizes.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "import_support.hpp"
#include "util/random.hpp"

using namespace recsys;
using namespace recsys::test;

namespace {
Row r(std::string u, std::string i, float v, std::int64_t t = 0) { return Row{u, i, v, t}; }
}  // namespace

TEST_CASE("a re-import replaces the ratings but keeps every id's index") {
  TempDir dir;
  auto db = open_db(dir);
  import_text(db, dir, "a.csv", "u1,i1,4\nu2,i2,3\n");
  auto rep = import_text(db, dir, "b.csv", "u3,i2,5\nu1,i3,1\n");
  REQUIRE(rep.new_users == 1);
  REQUIRE(rep.new_items == 1);
  REQUIRE(rep.users == 3);
  auto d = dump(db);
  REQUIRE(d.users == std::vector<std::string>{"u1", "u2", "u3"});
  REQUIRE(d.items == std::vector<std::string>{"i1", "i2", "i3"});
  REQUIRE(d.ratings == std::vector<Row>{r("u1", "i3", 1), r("u3", "i2", 5)});
  REQUIRE(d.stats.count == 2);
  REQUIRE(d.stats.min_value == 1.0f);
}

TEST_CASE("--append merges: explicit ratings are replaced, implicit values add up") {
  TempDir dir;
  auto db = open_db(dir);
  auto o = quiet_options();
  o.append = true;
  o.replace = false;
  SECTION("explicit") {
    import_text(db, dir, "a.csv", "u1,i1,4,10\nu2,i2,3,10\n");
    auto rep = import_text(db, dir, "b.csv", "u1,i1,2,20\nu1,i2,5,20\n", o);
    REQUIRE(rep.duplicates == 1);
    auto d = dump(db);
    REQUIRE(d.ratings == std::vector<Row>{r("u1", "i1", 2, 20), r("u1", "i2", 5, 20), r("u2", "i2", 3, 10)});
    REQUIRE(d.stats.count == 3);
    REQUIRE(d.stats.feedback == store::Feedback::Explicit);
  }
  SECTION("implicit") {
    import_text(db, dir, "a.csv", "user,item\nu1,i1\nu2,i2\n");
    import_text(db, dir, "b.csv", "user,item\nu1,i1\nu1,i1\nu3,i1\n", o);
    auto d = dump(db);
    REQUIRE(d.ratings == std::vector<Row>{r("u1", "i1", 3), r("u2", "i2", 1), r("u3", "i1", 1)});
    REQUIRE(d.stats.count == 3);
    REQUIRE(d.stats.max_value == 3.0f);
    REQUIRE(d.stats.feedback == store::Feedback::Implicit);
  }
}

TEST_CASE("chunk size and thread count do not change the result or the line numbers") {
  SplitMix rng(7);
  std::string text = "user,item,rating,timestamp\n";
  for (int k = 0; k < 20000; ++k) {
    text += fmt::format("user{},item{},{},{}\n", rng.below(700), rng.below(300), 1 + rng.below(5), k);
    if (k == 15000) text += "broken\n";  // line 15003
  }
  Dump expected;
  std::string expected_error;
  for (int variant = 0; variant < 3; ++variant) {
    TempDir dir;
    auto db = open_db(dir);
    auto o = quiet_options();
    if (variant == 1) o.chunk_bytes = 4096;
    if (variant == 2) {
      // Parts of at least 1 MiB are parsed in parallel.
      text += text.substr(text.find('\n') + 1);
      text += text.substr(text.find('\n') + 1);
      text += text.substr(text.find('\n') + 1);
      text += text.substr(text.find('\n') + 1);
      text += text.substr(text.find('\n') + 1);
      o.threads = 2;
      o.chunk_bytes = 3 << 20;
    }
    auto rep = import_text(db, dir, "r.csv", text, o);
    REQUIRE(rep.errors.at(0).ends_with(":15003: expected at least 4 fields, found 1"));
    auto d = dump(db);
    if (variant == 0) {
      expected = d;
    } else if (variant == 1) {
      REQUIRE(d == expected);
    } else {
      // Repeating the file repeats the same pairs: last one wins, same ids in the same order.
      REQUIRE(d.users == expected.users);
      REQUIRE(d.items == expected.items);
      REQUIRE(d.ratings.size() == expected.ratings.size());
      REQUIRE(rep.skipped == 32);
    }
  }
}

TEST_CASE("an import larger than the initial map grows it and still lands in one piece") {
  TempDir dir;
  auto db = open_db(dir, store::OpenMode::Create, 256 * 1024);
  std::string text;
  for (int k = 0; k < 60000; ++k) text += fmt::format("u{},i{},2\n", k % 5000, k / 5000);
  auto rep = import_text(db, dir, "r.csv", text);
  REQUIRE(rep.ratings == 60000);
  REQUIRE(db.env().map_size() > 256 * 1024);
  auto d = dump(db);
  REQUIRE(d.users.size() == 5000);
  REQUIRE(d.items.size() == 12);
  REQUIRE(d.ratings.size() == 60000);
}

TEST_CASE("load_ratings returns every rating sorted by user then item with the id space sizes") {
  TempDir dir;
  auto db = open_db(dir);
  import_text(db, dir, "a.csv", "a,x,1\nb,y,2\na,z,3\n");
  import_text(db, dir, "b.csv", "b,z,4\nb,x,5\n");  // "a" keeps its index without ratings
  auto txn = db.begin_read();
  auto t = data::load_ratings(db, txn);
  REQUIRE(t.n_users == 2);
  REQUIRE(t.n_items == 3);
  REQUIRE(t.users == std::vector<std::uint32_t>{1, 1});
  REQUIRE(t.items == std::vector<std::uint32_t>{0, 2});
  REQUIRE(t.values == std::vector<float>{5, 4});
}

TEST_CASE("MovieLens 100k u.data imports to 943 users, 1682 items, 100000 ratings") {
  auto data = shared_data_dir();
  if (data.empty() || !std::filesystem::exists(data / "ml-100k" / "u.data")) {
    WARN("shared MovieLens data absent: skipped");
    return;
  }
  TempDir dir;
  auto db = open_db(dir);
  auto rep = data::import_files(db, {(data / "ml-100k" / "u.data").string()}, quiet_options());
  REQUIRE(rep.skipped == 0);
  REQUIRE(rep.users == 943);
  REQUIRE(rep.items == 1682);
  REQUIRE(rep.ratings == 100000);
  REQUIRE(rep.feedback == store::Feedback::Explicit);
  auto d = dump(db);
  REQUIRE(d.stats.min_value == 1.0f);
  REQUIRE(d.stats.max_value == 5.0f);
}

TEST_CASE("MovieLens latest-small ratings.csv imports to 610 users, 9724 items, 100836 ratings") {
  auto data = shared_data_dir();
  if (data.empty() || !std::filesystem::exists(data / "ml-latest-small" / "ratings.csv")) {
    WARN("shared MovieLens data absent: skipped");
    return;
  }
  TempDir dir;
  auto db = open_db(dir);
  auto rep = data::import_files(db, {(data / "ml-latest-small" / "ratings.csv").string()}, quiet_options());
  REQUIRE(rep.skipped == 0);
  REQUIRE(rep.users == 610);
  REQUIRE(rep.items == 9724);
  REQUIRE(rep.ratings == 100836);
  auto d = dump(db);
  REQUIRE(d.stats.min_value == 0.5f);
  REQUIRE(d.stats.max_value == 5.0f);
}
