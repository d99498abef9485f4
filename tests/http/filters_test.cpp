// Titles and filters with the real server: ?genre=… keeps matching items only,
// ?exclude_genre=… drops them, k is respected from the deeper candidates, and
// an unknown field is a 400 that says which fields exist.
#include <catch2/catch.hpp>

#include <simdjson.h>

#include <algorithm>

#include "client.hpp"
#include "../rank/list_json.hpp"
#include "process.hpp"
#include "served_db.hpp"
#include "util/json.hpp"

using namespace recsys;
using test::Connection;

namespace {

// Items i0..i29: genres "Even" or "Odd" by index, and "Horror" for every fifth.
std::string genres_of(std::size_t i) { return std::string(i % 2 ? "Odd" : "Even") + (i % 5 == 0 ? "|Horror" : ""); }

struct Fixture : test::ServedDb {
  Fixture() : ServedDb(20, 30, 7, 5) {
    std::string csv = "id,title,genres\n";
    for (std::size_t i = 0; i < s.items.size(); ++i) csv += s.items[i] + ",Title " + s.items[i] + "," + genres_of(i) + "\n";
    store_items("items.csv", csv);
  }
  // `recsys items` on a file of `text` named `name`, which must succeed.
  void store_items(const std::string& name, const std::string& text) {
    auto file = dir.write(name, text);
    auto res = test::run_recsys({"--db", db, "items", file.string()}, dir);
    INFO(res.err);
    REQUIRE(res.status == 0);
  }
  std::size_t index_of(const std::string& item) const {
    return static_cast<std::size_t>(std::find(s.items.begin(), s.items.end(), item) - s.items.begin());
  }
};

// Each entry's genres, from a response body.
std::vector<std::vector<std::string>> genres_in(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  std::vector<std::vector<std::string>> out;
  for (auto entry : parser.parse(padded)["items"].get_array()) {
    out.emplace_back();
    for (auto g : entry["genres"].get_array()) out.back().emplace_back(std::string_view(g));
  }
  return out;
}

bool has(const std::vector<std::string>& v, const char* s) { return std::find(v.begin(), v.end(), s) != v.end(); }

}  // namespace

TEST_CASE("filtered recommendations hold only matching items, the best first, k of them") {
  Fixture f;
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  // Titles in the unfiltered, precomputed answer.
  auto plain = c.get("/v1/users/u3/recommendations");
  REQUIRE_THAT(plain.body, Catch::Contains(",\"title\":\"Title i"));

  for (std::uint32_t u : {3u, 8u}) {
    std::string user = f.s.users[u];
    // The expected answer: the user's ranking of unseen items, filtered, cut to k.
    std::vector<std::string> even, not_horror;
    for (auto i : test::brute_force_user(f.s, u, 30)) {
      if (i % 2 == 0 && even.size() < 4) even.push_back(f.s.items[i]);
      if (i % 5 != 0 && not_horror.size() < 5) not_horror.push_back(f.s.items[i]);
    }
    auto r = c.get("/v1/users/" + user + "/recommendations?k=4&genre=Even");
    REQUIRE(r.status == 200);
    REQUIRE(test::item_names(test::parse_body(r.body)) == even);
    for (const auto& g : genres_in(r.body)) REQUIRE(has(g, "Even"));
    r = c.get("/v1/users/" + user + "/recommendations?exclude_genre=horror");  // values ignore case; k = 10
    auto names = test::item_names(test::parse_body(r.body));
    REQUIRE(names.size() == 10);
    names.resize(5);
    REQUIRE(names == not_horror);
    for (const auto& g : genres_in(r.body)) REQUIRE_FALSE(has(g, "Horror"));
  }
  // Combined filters, exclude= and a fallback user.
  auto r = c.get("/v1/users/nobody/recommendations?k=3&genres=Odd,Even&exclude_genre=Horror&exclude=i3");
  auto body = test::parse_body(r.body);
  REQUIRE(body.source == "fallback");
  REQUIRE(body.items.size() == 3);
  for (const auto& g : genres_in(r.body)) REQUIRE_FALSE(has(g, "Horror"));
  REQUIRE_FALSE(has(test::item_names(body), "i3"));
  // Similar items filter the same way.
  r = c.get("/v1/items/i4/similar?k=3&genre=Odd");
  REQUIRE(r.status == 200);
  REQUIRE(test::parse_body(r.body, "item").items.size() == 3);
  for (const auto& g : genres_in(r.body)) REQUIRE(has(g, "Odd"));
  // Nothing matches: fewer (here no) items, not an error.
  r = c.get("/v1/users/u3/recommendations?genre=Western");
  REQUIRE(r.status == 200);
  REQUIRE(test::parse_body(r.body).items.empty());
}

TEST_CASE("an unknown filter field is a 400 naming the stored fields; an event updates the filtered list") {
  Fixture f;
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  auto r = c.get("/v1/users/u3/recommendations?colour=red");
  REQUIRE(r.status == 400);
  REQUIRE_THAT(r.body, Catch::Contains(R"j("code":"invalid_parameter")j") &&
                           Catch::Contains("unknown parameter 'colour'") && Catch::Contains("(title, genres)"));
  REQUIRE(c.get("/v1/items/i3/similar?genre=").status == 400);
  REQUIRE(c.get("/v1/items/nope/similar?genre=Odd").status == 404);

  auto first = test::parse_body(c.get("/v1/users/u3/recommendations?k=1&genre=Even").body).items.at(0).first;
  REQUIRE(c.request("POST", "/v1/events", R"j({"user":"u3","item":)j" + json::quote(first) + "}").status == 200);
  auto after = test::item_names(test::parse_body(c.get("/v1/users/u3/recommendations?k=5&genre=Even").body));
  REQUIRE(after.size() == 5);
  REQUIRE_FALSE(has(after, first.c_str()));  // now rated
  // A new user from an event gets candidates too.
  REQUIRE(c.request("POST", "/v1/events", R"j({"user":"fresh","item":"i4"})j").status == 200);
  auto fresh = test::parse_body(c.get("/v1/users/fresh/recommendations?k=2&genre=Horror").body);
  REQUIRE(fresh.source == "model");
  REQUIRE(fresh.items.size() == 2);
}

TEST_CASE("repeated exclude parameters all count; a repeated k is a 400") {
  Fixture f;
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  auto top = test::brute_force_user(f.s, 3, 5);
  const std::string a = f.s.items[top[0]], b = f.s.items[top[1]];
  std::vector<std::string> expected{f.s.items[top[2]], f.s.items[top[3]]};
  // exclude=a&exclude=b is exclude=a,b: on the precomputed path and the filtered one.
  auto once = test::item_names(test::parse_body(c.get("/v1/users/u3/recommendations?k=2&exclude=" + a + "," + b).body));
  REQUIRE(once == expected);
  auto twice = c.get("/v1/users/u3/recommendations?k=2&exclude=" + a + "&exclude=" + b);
  REQUIRE(twice.status == 200);
  REQUIRE(test::item_names(test::parse_body(twice.body)) == expected);
  auto filtered = c.get("/v1/users/u3/recommendations?k=10&exclude=" + a + "&genres=Odd,Even&exclude=" + b);
  auto names = test::item_names(test::parse_body(filtered.body));
  REQUIRE_FALSE(has(names, a.c_str()));
  REQUIRE_FALSE(has(names, b.c_str()));
  auto sim = c.get("/v1/items/i4/similar?k=3").body;
  auto first = test::parse_body(sim, "item").items.at(0).first;
  auto sim_twice = c.get("/v1/items/i4/similar?k=3&exclude=nothing&exclude=" + first);
  REQUIRE_FALSE(has(test::item_names(test::parse_body(sim_twice.body, "item")), first.c_str()));
  // Two values of k cannot both hold: a clear 400, not the first one silently.
  auto k = c.get("/v1/users/u3/recommendations?k=2&k=5");
  REQUIRE(k.status == 400);
  REQUIRE_THAT(k.body, Catch::Contains("k is given more than once"));
  REQUIRE(c.get("/v1/items/i4/similar?k=2&genre=Odd&k=3").status == 400);
  REQUIRE(c.get("/v1/users/u3/history?limit=1&limit=2").status == 400);
  // k and exclude are read by their plain names: encoded, they are named in the error as such.
  auto encoded = c.get("/v1/users/u3/recommendations?%6B=2");
  REQUIRE(encoded.status == 400);
  REQUIRE_THAT(encoded.body, Catch::Contains("write 'k' without percent-encoding"));
  REQUIRE_THAT(c.get("/v1/users/u3/recommendations?exclud%65=i3").body,
               Catch::Contains("write 'exclude' without percent-encoding"));
  // An id in exclude= whose bytes are not UTF-8 is refused as in the path (it was taken, matching nothing).
  for (const char* target : {"/v1/users/u3/recommendations?exclude=%FF", "/v1/items/i4/similar?exclude=i1,%C3"}) {
    INFO(target);
    auto bad = c.get(target);
    REQUIRE(bad.status == 400);
    REQUIRE_THAT(bad.body, Catch::Contains("an id in exclude is not valid UTF-8"));
  }
  REQUIRE(c.get("/v1/users/u3/recommendations?exclude=%C3%A9").status == 200);
}

TEST_CASE("a filter value may hold a comma written as %2C") {
  Fixture f;
  // Titles with commas, as MovieLens writes "Misérables, Les (1995)".
  std::string lines;
  for (std::size_t i = 0; i < f.s.items.size(); ++i) {
    lines += R"j({"id":)j" + json::quote(f.s.items[i]) + R"j(,"title":)j" +
             json::quote(i == 4 ? "Four, the" : "Title " + f.s.items[i]) + "}\n";
  }
  f.store_items("titles.jsonl", lines);
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  auto r = c.get("/v1/users/nobody/recommendations?k=30&title=Four%2C%20the");
  REQUIRE(r.status == 200);
  REQUIRE(test::item_names(test::parse_body(r.body)) == std::vector<std::string>{f.s.items[4]});
  // A plain comma still separates values.
  r = c.get("/v1/users/nobody/recommendations?k=30&title=Four%2C%20the,Title%20" + f.s.items[7]);
  auto names = test::item_names(test::parse_body(r.body));
  std::sort(names.begin(), names.end());
  REQUIRE(names == std::vector<std::string>{f.s.items[4], f.s.items[7]});
}

TEST_CASE("numeric filter values match by value, not by how they are written") {
  Fixture f;
  std::string lines;
  for (std::size_t i = 0; i < f.s.items.size(); ++i) {
    // i4: year 1995 and rating 3.5; every other item a year and rating of its own.
    const std::string year = i == 4 ? "1995" : std::to_string(1900 + i);
    const std::string rating = i == 4 ? "3.5" : std::to_string(i) + ".25";
    lines += R"j({"id":)j" + json::quote(f.s.items[i]) + R"j(,"year":)j" + year + R"j(,"rating":)j" + rating + "}\n";
  }
  f.store_items("numbers.jsonl", lines);
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  const std::vector<std::string> just_four{f.s.items[4]};
  for (std::string q : {"rating=3.50", "rating=3.5", "year=1995.0", "year=1995", "rating=35e-1", "year=2000,1995"}) {
    INFO(q);
    auto r = c.get("/v1/users/nobody/recommendations?k=30&" + q);
    REQUIRE(r.status == 200);
    REQUIRE(test::item_names(test::parse_body(r.body)) == just_four);
  }
  // Text that is not all a number never equals one.
  for (std::string q : {"year=1995x", "year=%20", "rating=3.5.0", "rating=0x3"}) {
    INFO(q);
    REQUIRE(test::parse_body(c.get("/v1/users/nobody/recommendations?k=30&" + q).body).items.empty());
  }
}
