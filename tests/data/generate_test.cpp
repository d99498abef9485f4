// The synthetic ratings generator: deterministic, exact sizes, valid rows,
// no repeated pairs, every user present, skewed popularity; play counts on
// the same pairs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "data/generate.hpp"
#include "util/error.hpp"

using namespace recsys;

namespace {
std::string generate(data::GenerateOptions o) {
  std::string out;
  data::generate_ratings(o, [&](std::string_view block) { out += block; });
  return out;
}
std::int64_t field(std::string_view& line) {
  auto comma = line.find(',');
  std::string_view f = line.substr(0, comma);
  line = comma == std::string_view::npos ? std::string_view{} : line.substr(comma + 1);
  std::int64_t v = -1;
  std::from_chars(f.data(), f.data() + f.size(), v);
  return v;
}
struct Row {
  std::int64_t user, item, value, time;
};
std::vector<Row> rows_of(const std::string& text) {
  std::vector<Row> rows;
  std::string_view rest(text);
  rest.remove_prefix(rest.find('\n') + 1);
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    Row r;
    r.user = field(line);
    r.item = field(line);
    r.value = field(line);
    r.time = field(line);
    rows.push_back(r);
  }
  return rows;
}
}  // namespace

TEST_CASE("the generator writes exactly the requested rows with valid fields and no repeated pairs") {
  data::GenerateOptions o;
  o.users = 3000;
  o.items = 400;
  o.ratings = 60000;
  o.seed = 5;
  o.threads = 2;
  std::string text = generate(o);
  REQUIRE(text.starts_with("user,item,rating,timestamp\n"));
  std::set<std::pair<std::int64_t, std::int64_t>> pairs;
  std::vector<int> per_user(o.users + 1, 0);
  std::vector<int> per_item(o.items + 1, 0);
  std::size_t rows = 0;
  for (const auto& [u, i, r, t] : rows_of(text)) {
    REQUIRE(u >= 1);
    REQUIRE(u <= o.users);
    REQUIRE(i >= 1);
    REQUIRE(i <= o.items);
    REQUIRE(r >= 1);
    REQUIRE(r <= 5);
    REQUIRE(t >= 946684800);
    REQUIRE(pairs.insert({u, i}).second);
    ++per_user[static_cast<std::size_t>(u)];
    ++per_item[static_cast<std::size_t>(i)];
    ++rows;
  }
  REQUIRE(rows == o.ratings);
  REQUIRE(*std::min_element(per_user.begin() + 1, per_user.end()) >= 5);
  // Power law: the 10% most popular items draw far more than 10% of the ratings.
  std::sort(per_item.begin(), per_item.end(), std::greater<>());
  std::size_t top = 0;
  for (std::size_t k = 0; k < o.items / 10; ++k) top += static_cast<std::size_t>(per_item[k]);
  REQUIRE(top > rows * 3 / 10);
}

TEST_CASE("the same seed gives the same file whatever the thread count; another seed another file") {
  data::GenerateOptions o;
  o.users = 5000;
  o.items = 300;
  o.ratings = 40000;
  o.threads = 1;
  std::string one = generate(o);
  o.threads = 3;
  REQUIRE(generate(o) == one);
  o.seed = 43;
  REQUIRE(generate(o) != one);
}

TEST_CASE("impossible sizes are usage errors") {
  data::GenerateOptions o;
  o.users = 10;
  o.items = 4;
  o.ratings = 9;
  REQUIRE_THROWS_AS(data::check_generate_options(o), UsageError);  // fewer ratings than users
  o.ratings = 21;
  REQUIRE_THROWS_AS(data::check_generate_options(o), UsageError);  // more than half the items each
  o.ratings = 20;
  REQUIRE(generate(o).size() > 0);
}


TEST_CASE("play counts hold the stars' pairs and times, with a heavy tail that follows the stars") {
  data::GenerateOptions o;
  o.users = 2000;
  o.items = 500;
  o.ratings = 50000;
  o.seed = 9;
  o.threads = 2;
  const std::string stars_text = generate(o);
  o.values = data::GeneratedValues::Counts;
  const std::string counts_text = generate(o);
  REQUIRE(counts_text.starts_with("user,item,plays,timestamp\n"));
  o.threads = 1;
  REQUIRE(generate(o) == counts_text);

  const auto stars = rows_of(stars_text);
  const auto counts = rows_of(counts_text);
  REQUIRE(counts.size() == o.ratings);
  REQUIRE(stars.size() == counts.size());
  std::vector<std::int64_t> values;
  double log_sum[6] = {}, n[6] = {};
  for (std::size_t k = 0; k < counts.size(); ++k) {
    REQUIRE(counts[k].user == stars[k].user);
    REQUIRE(counts[k].item == stars[k].item);
    REQUIRE(counts[k].time == stars[k].time);
    REQUIRE(counts[k].value >= 1);
    values.push_back(counts[k].value);
    const auto s = static_cast<std::size_t>(stars[k].value);
    log_sum[s] += std::log(static_cast<double>(counts[k].value));
    n[s] += 1;
  }
  std::sort(values.begin(), values.end());
  const auto median = values[values.size() / 2], p99 = values[values.size() * 99 / 100];
  CHECK(median >= 5);
  CHECK(median <= 100);
  CHECK(p99 >= 10 * median);  // a long tail, as listening counts have
  CHECK(values.back() >= 1000);
  // Users play what they would rate highly more often.
  for (std::size_t s = 2; s <= 5; ++s) {
    REQUIRE(n[s - 1] > 0);
    CHECK(log_sum[s] / n[s] > log_sum[s - 1] / n[s - 1]);
  }
}
