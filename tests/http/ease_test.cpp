// An EASE model served by the real server: the lists of trained users, and the
// lists after POST /v1/events, compared with x_u·B computed independently (in
// double precision) from B and the ratings stored in the database.
// GCC 12 false positive inside its AVX-512 intrinsics (see src/model/meson.build).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "../rank/list_json.hpp"
#include "client.hpp"
#include "process.hpp"
#include "store/ids.hpp"
#include "store/models.hpp"
#include "store/ratings.hpp"
#include "test_db.hpp"
#include "util/random.hpp"

using namespace recsys;
using test::Connection;

namespace {

constexpr std::size_t kK = 5;

// Two taste groups of users over two groups of items, tab separated.
std::string grouped_ratings() {
  std::ostringstream out;
  SplitMix rng(17);
  for (int u = 0; u < 30; ++u)
    for (int i = 0; i < 24; ++i)
      if (((u % 2) == (i % 2) && rng.uniform() < 0.5) || rng.uniform() < 0.08)
        out << "u" << u << '\t' << "i" << i << '\t' << 1 + rng.below(5) << '\n';
  return out.str();
}

// x_u·B for binary input from what is stored now: B (the serving generation's
// item rows) and the user's ratings; the top kK unrated items, best first.
std::vector<std::pair<std::string, double>> expected_list(const test::TempDir& dir, const std::string& user) {
  auto db = test::open_test_db(dir, store::OpenMode::ReadOnly);
  auto txn = db.begin_read();
  auto generation = store::serving_generation(db, txn);
  REQUIRE(generation);
  auto b = store::load_factors(db, txn, *generation, store::Side::Items);
  REQUIRE(b.rows == b.cols);
  auto index = store::find_index(db, txn, store::IdKind::User, user);
  REQUIRE(index);
  auto ratings = store::get_user_ratings(db, txn, *index);
  auto item_ids = store::load_id_strings(db, txn, store::IdKind::Item);
  std::vector<double> scores(b.cols, 0.0);
  std::vector<char> rated(b.cols, 0);
  for (const auto& r : ratings) {
    if (r.item >= b.rows) continue;
    rated[r.item] = 1;
    for (std::uint32_t j = 0; j < b.cols; ++j) scores[j] += b.data[std::size_t{r.item} * b.cols + j];
  }
  std::vector<std::pair<std::string, double>> all;
  for (std::uint32_t j = 0; j < b.cols; ++j)
    if (!rated[j]) all.emplace_back(item_ids[j], scores[j]);
  std::stable_sort(all.begin(), all.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
  all.resize(std::min(all.size(), kK));
  return all;
}

// The served list is x_u·B's top k: same scores (the cache keeps 4 significant
// digits) and the same items, up to the order of scores equal within 1e-6.
void require_matches(const test::ParsedBody& served, const std::vector<std::pair<std::string, double>>& expected) {
  REQUIRE(served.source == "model");
  REQUIRE(served.items.size() == expected.size());
  for (std::size_t p = 0; p < expected.size(); ++p) {
    INFO("position " << p << ": served " << served.items[p].first << " " << served.items[p].second << ", expected "
                     << expected[p].first << " " << expected[p].second);
    REQUIRE(served.items[p].second == Approx(expected[p].second).epsilon(1e-3).margin(1e-6));
    if (served.items[p].first != expected[p].first) {
      auto other = std::find_if(expected.begin(), expected.end(),
                                [&](const auto& e) { return e.first == served.items[p].first; });
      REQUIRE(other != expected.end());
      REQUIRE(std::abs(other->second - expected[p].second) < 1e-6);
    }
  }
}

struct EaseServed {
  test::TempDir dir;
  std::string db;
  explicit EaseServed(const std::string& extra = "") {
    db = (dir / "db").string();
    auto file = dir.write("r.tsv", grouped_ratings() + extra);
    auto r = test::run_recsys({"--db", db, "--threads", "2", "train", file.string(), "--model", "ease",
                               "--regularization", "5", "--split", "none"},
                              dir);
    REQUIRE(r.status == 0);
    REQUIRE(test::run_recsys({"--db", db, "precompute", "--k", std::to_string(kK)}, dir).status == 0);
  }
};

}  // namespace

TEST_CASE("an EASE model is served with the lists x_u·B gives and names its family in /v1/model", "[ease]") {
  EaseServed f;
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  for (std::string user : {"u0", "u1", "u7"}) {
    auto served = test::parse_body(c.get("/v1/users/" + user + "/recommendations").body);
    require_matches(served, expected_list(f.dir, user));
  }
  auto model = c.get("/v1/model");
  REQUIRE(model.status == 200);
  REQUIRE(model.body.find("\"model\":\"ease\"") != std::string::npos);
  REQUIRE(model.body.find("\"generation\":1") != std::string::npos);
  // Similar items come from B: a known item has a model list without itself.
  auto similar = c.get("/v1/items/i2/similar");
  REQUIRE(similar.status == 200);
  auto names = test::item_names(test::parse_body(similar.body, "item"));
  REQUIRE(names.size() == kK);
  REQUIRE(std::find(names.begin(), names.end(), "i2") == names.end());
}

TEST_CASE("an EASE event changes the served list exactly as x_u·B predicts", "[ease]") {
  EaseServed f;
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  auto before = test::parse_body(c.get("/v1/users/u1/recommendations").body);
  REQUIRE(before.source == "model");
  // u1 takes the two items at the top of their list: both leave it, and their
  // rows of B add to every score (binary input: the values do not weigh).
  std::string first = before.items.at(0).first, second = before.items.at(1).first;
  auto post = c.request("POST", "/v1/events",
                        R"([{"user":"u1","item":")" + first + R"(","value":4},{"user":"u1","item":")" + second +
                            R"(","value":2}])");
  REQUIRE(post.status == 200);
  auto after = test::parse_body(c.get("/v1/users/u1/recommendations").body);
  auto names = test::item_names(after);
  REQUIRE(std::find(names.begin(), names.end(), first) == names.end());
  REQUIRE(std::find(names.begin(), names.end(), second) == names.end());
  REQUIRE(after.items != before.items);
  require_matches(after, expected_list(f.dir, "u1"));

  // A user the model never saw: their list is x_u·B of their events alone.
  REQUIRE(c.request("POST", "/v1/events", R"([{"user":"newcomer","item":"i3","value":5},{"user":"newcomer","item":"i5","value":1}])")
              .status == 200);
  auto newcomer = test::parse_body(c.get("/v1/users/newcomer/recommendations").body);
  require_matches(newcomer, expected_list(f.dir, "newcomer"));

  // An event on an item newer than the model only excludes it: x_u·B is unchanged.
  auto again = test::parse_body(c.get("/v1/users/u1/recommendations").body);
  REQUIRE(c.request("POST", "/v1/events", R"({"user":"u1","item":"brand-new","value":3})").status == 200);
  auto unchanged = test::parse_body(c.get("/v1/users/u1/recommendations").body);
  REQUIRE(unchanged.items == again.items);

  // A new user with only items newer than B: the fallback without those items.
  REQUIRE(c.request("POST", "/v1/events", R"({"user":"only-new","item":"brand-new","value":3})").status == 200);
  auto only_new = test::parse_body(c.get("/v1/users/only-new/recommendations").body);
  REQUIRE(only_new.source == "fallback");
  auto fallback_names = test::item_names(only_new);
  REQUIRE(std::find(fallback_names.begin(), fallback_names.end(), "brand-new") == fallback_names.end());
}

TEST_CASE("EASE users whose items co-occur with no other item get the fallback, from precompute and from events",
          "[ease]") {
  // iso's item co-occurs with nothing (its row of B is 0); iso2's two items only
  // with each other (x_u·B is 0 on every item they did not rate).
  EaseServed f("iso\tISO\t5\niso2\tISO2\t4\niso2\tISO3\t4\n");
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  auto fallback = test::item_names(test::parse_body(c.get("/v1/users/nobody/recommendations").body));
  for (std::string user : {"iso", "iso2"}) {
    INFO(user);
    auto served = test::parse_body(c.get("/v1/users/" + user + "/recommendations").body);
    REQUIRE(served.source == "fallback");
    auto names = test::item_names(served);
    REQUIRE(names.size() == kK);
    for (const char* own : {"ISO", "ISO2", "ISO3"}) REQUIRE(std::find(names.begin(), names.end(), own) == names.end());
    REQUIRE(served.items.front().second >= 2);  // rating counts, not the zeros of x_u·B
  }
  // ISO's row of B is 0: its similar items are the fallback, without ISO.
  auto similar = test::parse_body(c.get("/v1/items/ISO/similar").body, "item");
  REQUIRE(similar.source == "fallback");
  REQUIRE(test::item_names(similar) == fallback);
  // The same from an event: a new user whose only item is ISO.
  REQUIRE(c.request("POST", "/v1/events", R"({"user":"iso-new","item":"ISO","value":3})").status == 200);
  auto from_event = test::parse_body(c.get("/v1/users/iso-new/recommendations").body);
  REQUIRE(from_event.source == "fallback");
  REQUIRE(test::item_names(from_event) == fallback);
  // Adding an item that co-occurs with others makes the list personal again.
  REQUIRE(c.request("POST", "/v1/events", R"({"user":"iso-new","item":"i2","value":3})").status == 200);
  require_matches(test::parse_body(c.get("/v1/users/iso-new/recommendations").body), expected_list(f.dir, "iso-new"));
}
