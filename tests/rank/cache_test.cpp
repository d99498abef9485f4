#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "list_json.hpp"
#include "store/cache.hpp"
#include "util/json.hpp"
#include "small_db.hpp"
#include "temp_dir.hpp"

using namespace recsys;
using namespace recsys::store;

namespace {
std::string build(const std::vector<std::pair<std::string, float>>& entries, ListSource source, std::uint32_t gen) {
  ListBuilder b;
  for (const auto& [id, score] : entries) b.add(entry_head(id), score);
  return std::string(b.finish(source, gen));
}
}  // namespace

TEST_CASE("a stored list gives any prefix of its entries as JSON") {
  auto bytes = build({{"242", 0.93f}, {"a/b \"c\"", 0.5f}, {"7", -1.25f}}, ListSource::Model, 3);
  auto list = ListView::parse(bytes);
  REQUIRE(list.size() == 3);
  REQUIRE(list.header().generation == 3);
  REQUIRE(list.prefix(0).empty());
  REQUIRE(list.prefix(1) == R"({"item":"242","score":0.93})");
  REQUIRE(list.prefix(2) == R"({"item":"242","score":0.93},{"item":"a/b \"c\"","score":0.5})");
  REQUIRE(list.prefix(99) == list.prefix(3));
  REQUIRE(list.entry(2) == R"({"item":"7","score":-1.25})");
  REQUIRE(list.entry_is(1, json::quote("a/b \"c\"")));
  REQUIRE_FALSE(list.entry_is(0, json::quote("24")));
}

TEST_CASE("response bodies wrap the prefix and drop excluded items before cutting to k") {
  auto bytes = build({{"1", 4.0f}, {"2", 3.0f}, {"3", 2.0f}, {"4", 1.0f}}, ListSource::Fallback, 9);
  auto list = ListView::parse(bytes);
  std::string body;
  append_body(body, "user", "x\"y", list, 2);
  auto p = test::parse_body(body);
  REQUIRE(p.id == "x\"y");
  REQUIRE(p.model == 9);
  REQUIRE(p.source == "fallback");
  REQUIRE(test::item_names(p) == std::vector<std::string>{"1", "2"});
  body.clear();
  std::vector<std::string> excluded{json::quote("2"), json::quote("9")};
  append_body(body, "user", "x", list, 2, excluded);
  REQUIRE(test::item_names(test::parse_body(body)) == std::vector<std::string>{"1", "3"});
  body.clear();
  append_body(body, "item", "x", ListView::parse(build({}, ListSource::Model, 1)), 5);
  REQUIRE(body == R"({"item":"x","model":1,"source":"model","items":[]})");
}

TEST_CASE("scores are short: integers stay integers, others keep 4 significant digits") {
  std::string s;
  append_score(s, 583.0f);
  s += ' ';
  append_score(s, 0.123456f);
  s += ' ';
  append_score(s, -2.5e-7f);
  REQUIRE(s == "583 0.1235 -2.5e-07");
}

TEST_CASE("truncated or foreign list bytes are refused") {
  auto bytes = build({{"1", 1.0f}, {"2", 0.5f}}, ListSource::Model, 1);
  REQUIRE_THROWS_WITH(ListView::parse(bytes.substr(0, 5)), Catch::Contains("truncated"));
  REQUIRE_THROWS_WITH(ListView::parse(bytes.substr(0, 16)), Catch::Contains("truncated") || Catch::Contains("corrupt"));
  REQUIRE_THROWS_WITH(ListView::parse(bytes.substr(0, bytes.size() - 1)), Catch::Contains("corrupt"));
  std::string other = bytes;
  other[0] = 7;
  REQUIRE_THROWS_WITH(ListView::parse(other), Catch::Contains("precompute"));
}
