// POST /v1/events refuses values the stored data cannot hold (the checks of
// import, and the rating scale of explicit data), says why in plain English,
// and stores nothing of a refused request.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <simdjson.h>

#include <cmath>
#include <string>

#include "../rank/small_db.hpp"
#include "client.hpp"
#include "served_db.hpp"
#include "store/ids.hpp"
#include "store/ratings.hpp"

using namespace recsys;
using test::Connection;

namespace {

// The small served database with its ratings recorded as explicit 1-5 stars
// or as implicit counts (the import writes these statistics).
struct Rated : test::ServedDb {
  explicit Rated(store::Feedback kind) : ServedDb(20, 30, 21, 5) {
    auto handle = test::open_db(dir / "db");
    std::uint64_t count = 0;
    for (const auto& seen : s.seen) count += seen.size();
    handle.write([&](store::Txn& txn) { store::put_rating_stats(handle, txn, {count, 1.0f, 5.0f, kind}); });
  }
};

std::string error_message(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  std::string_view message;
  if (parser.parse(padded)["error"]["message"].get(message)) return "(no error message in " + body + ")";
  return std::string(message);
}

std::string error_code(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  std::string_view code;
  if (parser.parse(padded)["error"]["code"].get(code)) return "(no error code in " + body + ")";
  return std::string(code);
}

std::vector<store::RatingRecord> ratings_of(const std::string& path, const std::string& user) {
  auto db = test::open_db(path, store::OpenMode::ReadOnly);
  auto txn = db.begin_read();
  auto u = store::find_index(db, txn, store::IdKind::User, user);
  return u ? store::get_user_ratings(db, txn, *u) : std::vector<store::RatingRecord>{};
}

}  // namespace

TEST_CASE("explicit ratings outside the stored scale are refused with 422 and store nothing") {
  Rated f(store::Feedback::Explicit);
  auto before = ratings_of(f.db, "u3");
  {
    test::Server server(f.dir, f.db);
    Connection c(server.port());
    struct Case {
      const char* value;
      const char* message;
    };
    for (const Case& k : {Case{"-3", "the event has a negative \"value\" (-3)"},
                          Case{"1e30", "the event has a \"value\" larger than 1e+09 (1e+30)"},
                          Case{"-1e30", "the event has a negative \"value\" (-1e+30)"},
                          Case{"3e38", "the event has a \"value\" larger than 1e+09 (3e+38)"},
                          // Said as given: "larger than 1e+09 (1e+09)" before.
                          Case{"1000000001", "the event has a \"value\" larger than 1e+09 (1000000001)"},
                          Case{"0", "the event has a \"value\" of 0, outside the rating scale of the stored ratings "
                                    "(1 to 5)"},
                          Case{"99", "the event has a \"value\" of 99, outside the rating scale of the stored "
                                     "ratings (1 to 5)"},
                          // Said as given: "a value of 5, outside 1 to 5" before.
                          Case{"5.0000001", "the event has a \"value\" of 5.0000001, outside the rating scale of the "
                                            "stored ratings (1 to 5)"},
                          Case{"\"4\"", "the event has a \"value\" that is not a number"}}) {
      INFO(k.value);
      auto r = c.request("POST", "/v1/events", std::string(R"({"user":"u3","item":"i4","value":)") + k.value + "}");
      REQUIRE(r.status == 422);
      REQUIRE(error_code(r.body) == "invalid_event");
      REQUIRE(error_message(r.body) == k.message);
    }
    // No silent 1-star default: explicit data needs the rating.
    auto missing = c.request("POST", "/v1/events", R"({"user":"u3","item":"i4"})");
    REQUIRE(missing.status == 422);
    REQUIRE(error_message(missing.body) ==
            "the event has no \"value\": the stored ratings are explicit, so a rating from 1 to 5 is required");
    // One bad event refuses the whole request.
    auto mixed = c.request("POST", "/v1/events", R"([{"user":"u3","item":"i5","value":4},{"user":"u3","item":"i6","value":6}])");
    REQUIRE(mixed.status == 422);
    REQUIRE(error_message(mixed.body) ==
            "event 1 has a \"value\" of 6, outside the rating scale of the stored ratings (1 to 5)");
    server.stop();
  }
  REQUIRE(ratings_of(f.db, "u3").size() == before.size());
  {
    auto db = test::open_db(f.db, store::OpenMode::ReadOnly);
    auto txn = db.begin_read();
    auto stats = store::rating_stats(db, txn);
    REQUIRE(stats.min_value == 1.0f);
    REQUIRE(stats.max_value == 5.0f);
  }
  // Within the scale, half stars included, a rating is stored as given.
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  REQUIRE(c.request("POST", "/v1/events", R"({"user":"u3","item":"i4","value":4.5})").status == 200);
  REQUIRE(c.request("POST", "/v1/events", R"({"user":"u3","item":"i7","value":1})").status == 200);
  server.stop();
  auto after = ratings_of(f.db, "u3");
  auto stored = [&](std::uint32_t item) {
    for (const auto& r : after)
      if (r.item == item) return r.value;
    return -1.0f;
  };
  REQUIRE(stored(4) == 4.5f);
  REQUIRE(stored(7) == 1.0f);
}

TEST_CASE("implicit event values pass import's checks and their sums saturate instead of growing to infinity") {
  Rated f(store::Feedback::Implicit);
  {
    test::Server server(f.dir, f.db);
    Connection c(server.port());
    for (const char* bad : {"-3", "1e30", "-1e30", "3e38"}) {
      INFO(bad);
      auto r = c.request("POST", "/v1/events", std::string(R"({"user":"fan","item":"i4","value":)") + bad + "}");
      REQUIRE(r.status == 422);
      REQUIRE(error_code(r.body) == "invalid_event");
    }
    // 0 and a missing value (one interaction) are fine for implicit data.
    REQUIRE(c.request("POST", "/v1/events", R"({"user":"fan","item":"i5","value":0})").status == 200);
    REQUIRE(c.request("POST", "/v1/events", R"({"user":"fan","item":"i6"})").status == 200);
    // Implicit values add up; at the largest storable value they stop growing.
    std::string big = R"({"user":"fan","item":"i4","value":1e9})";
    REQUIRE(c.request("POST", "/v1/events", "[" + big + "," + big + "]").status == 200);
    REQUIRE(c.request("POST", "/v1/events", big).status == 200);
    server.stop();
  }
  auto fan = ratings_of(f.db, "fan");
  REQUIRE(fan.size() == 3);
  REQUIRE(fan[0].item == 4);
  REQUIRE(std::isfinite(fan[0].value));
  REQUIRE(fan[0].value == 1e9f);
  REQUIRE(fan[1].value == 0.0f);
  REQUIRE(fan[2].value == 1.0f);
}

TEST_CASE("more than 10000 events in one request answer 413 payload_too_large") {
  test::ServedDb f(20, 30, 21, 5);
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  std::string body = "[";
  for (int i = 0; i < 10001; ++i) body += std::string(i ? "," : "") + R"({"user":"a","item":"b"})";
  body += "]";
  auto r = c.request("POST", "/v1/events", body);
  REQUIRE(r.status == 413);
  REQUIRE(error_code(r.body) == "payload_too_large");
  REQUIRE(error_message(r.body) == "10001 events in one request: at most 10000 are allowed");
  // Exactly 10000 are accepted.
  body = "[";
  for (int i = 0; i < 10000; ++i) body += std::string(i ? "," : "") + R"({"user":"a","item":"b"})";
  body += "]";
  REQUIRE(c.request("POST", "/v1/events", body).status == 200);
}

TEST_CASE("event error messages are English sentences naming the event and the field") {
  test::ServedDb f(20, 30, 21, 5);
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  struct Case {
    const char* body;
    const char* message;
  };
  for (const Case& k : {Case{R"({"item":"i1"})", "the event has no \"user\""},
                        Case{R"({"user":"","item":"i1"})", "the event has an empty \"user\""},
                        Case{R"({"user":"u1","item":""})", "the event has an empty \"item\""},
                        Case{R"({"user":"u1","item":true})", "the event has an \"item\" that is neither a string nor "
                                                             "an integer"},
                        Case{R"([{"user":"u1","item":"i1"},{"user":5.5,"item":"i1"}])",
                             "event 1 has a \"user\" that is neither a string nor an integer"},
                        Case{R"([{"user":"u1","item":"i1"},7])", "event 1 is not an object"},
                        Case{R"({"user":"u1","item":"i1","timestamp":"noon"})",
                             "the event has a \"timestamp\" that is neither a number of seconds nor an ISO 8601 date string"},
                        // simdjson reads the first of two equal keys, most JSON
                        // libraries the last: refused, not stored as another event.
                        Case{R"({"user":"u1","user":"u2","item":"i1"})", "the event has \"user\" more than once"},
                        Case{R"([{"user":"u1","item":"i1"},{"user":"u1","item":"i1","value":1,"value":9}])",
                             "event 1 has \"value\" more than once"},
                        Case{R"({"user":"u1","item":"i1","timestamp":5,"timestamp":"bad"})",
                             "the event has \"timestamp\" more than once"}}) {
    INFO(k.body);
    auto r = c.request("POST", "/v1/events", k.body);
    REQUIRE(r.status == 422);
    REQUIRE(error_message(r.body) == k.message);
  }
  std::string long_id(600, 'x');
  auto r = c.request("POST", "/v1/events", R"({"user":")" + long_id + R"(","item":"i1"})");
  REQUIRE(r.status == 422);
  REQUIRE(error_message(r.body) == "the event has a \"user\" longer than 510 bytes");
}

// Play counts have a value column, so they used to import as explicit
// ratings: a play event of 1 then replaced a count of 120, and a count above
// the largest stored one was refused as outside the scale. A `plays` header
// (or `import --values counts`) now stores them as implicit feedback.
TEST_CASE("an event's timestamp may be an ISO 8601 date string or seconds as a string, stored as seconds since 1970") {
  // JavaScript's toISOString() and RFC 3339 offsets; before, only numbers.
  Rated f(store::Feedback::Implicit);
  {
    test::Server server(f.dir, f.db);
    Connection c(server.port());
    auto r = c.request("POST", "/v1/events",
                       R"([{"user":"iso-a","item":"i1","timestamp":"2005-09-06T14:03:00.000Z"},)"
                       R"({"user":"iso-b","item":"i1","timestamp":"2005-09-06T16:03:00+02:00"},)"
                       R"({"user":"iso-c","item":"i1","timestamp":"2005-09-06"},)"
                       R"({"user":"iso-e","item":"i1","timestamp":"1126015380"}])");
    INFO(r.body);
    REQUIRE(r.status == 200);
    auto bad = c.request("POST", "/v1/events", R"({"user":"iso-d","item":"i1","timestamp":"2005-02-29"})");
    REQUIRE(bad.status == 422);
    server.stop();
  }
  for (const auto& [user, ts] : {std::pair<std::string, std::int64_t>{"iso-a", 1126015380},
                                 {"iso-b", 1126015380}, {"iso-c", 1125964800}, {"iso-e", 1126015380}}) {
    auto stored = ratings_of(f.db, user);
    REQUIRE(stored.size() == 1);
    CHECK(stored[0].timestamp == ts);
  }
  CHECK(ratings_of(f.db, "iso-d").empty());
}

TEST_CASE("play counts imported as counts: events add plays and no scale limits them") {
  test::TempDir dir;
  std::string csv = "user,item,plays\n";
  for (int u = 0; u < 12; ++u)
    for (int i = 0; i < 10; ++i)
      if ((u * 7 + i * 3) % 4 != 0) csv += fmt::format("u{},i{},{}\n", u, i, 1 + (u * 31 + i * 17) % 300);
  auto plays = dir.write("plays.csv", csv);
  std::string db = (dir / "db").string();
  auto imported = test::run_recsys({"--db", db, "import", plays.string()}, dir);  // detected by the header
  REQUIRE(imported.status == 0);
  REQUIRE_THAT(imported.out, Catch::Contains("(implicit feedback)"));
  REQUIRE(test::run_recsys({"--db", db, "train", "--factors", "4", "--iterations", "2", "--no-loss"}, dir).status == 0);
  REQUIRE(test::run_recsys({"--db", db, "precompute", "--k", "3"}, dir).status == 0);
  auto stored = [&](const std::string& item) {
    auto handle = test::open_db(db, store::OpenMode::ReadOnly);
    auto txn = handle.begin_read();
    auto u = store::find_index(handle, txn, store::IdKind::User, "u1");
    auto i = store::find_index(handle, txn, store::IdKind::Item, item);
    REQUIRE((u && i));
    for (const auto& r : store::get_user_ratings(handle, txn, *u))
      if (r.item == *i) return r.value;
    return -1.0f;
  };
  const float before = stored("i1");  // (1·31 + 1·17) % 300 + 1 = 49
  REQUIRE(before == 49.0f);
  {
    test::Server server(dir, db);
    Connection c(server.port());
    auto one = c.request("POST", "/v1/events", R"({"user":"u1","item":"i1","value":1})");
    REQUIRE(one.status == 200);
    auto many = c.request("POST", "/v1/events", R"({"user":"u1","item":"i1","value":5000})");
    INFO(many.body);
    REQUIRE(many.status == 200);  // more than the largest stored count (300)
    REQUIRE(c.request("POST", "/v1/events", R"({"user":"u1","item":"i1"})").status == 200);  // one play
    server.stop();
  }
  REQUIRE(stored("i1") == before + 1 + 5000 + 1);
}
