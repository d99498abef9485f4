#include <catch2/catch.hpp>

#include <string>

#include "http/events.hpp"
#include "http/url.hpp"

using namespace recsys::http;

TEST_CASE("targets split into path and query") {
  auto t = split_target("/v1/users/42/recommendations?k=5&exclude=a,b#frag");
  REQUIRE(t.path == "/v1/users/42/recommendations");
  REQUIRE(t.query == "k=5&exclude=a,b");
  REQUIRE(split_target("/healthz").query.empty());
  REQUIRE(query_param(t.query, "k") == std::optional<std::string_view>("5"));
  REQUIRE(query_param(t.query, "exclude") == std::optional<std::string_view>("a,b"));
  REQUIRE_FALSE(query_param(t.query, "x"));
  REQUIRE(query_param("flag&k=", "flag") == std::optional<std::string_view>(""));
}

TEST_CASE("an absolute-form target's authority, without user info; none for origin-form") {
  REQUIRE(target_authority("http://host:8080/v1/x?k=1") == std::optional<std::string_view>("host:8080"));
  REQUIRE(target_authority("HTTPS://a@b@[::1]:1?q") == std::optional<std::string_view>("[::1]:1"));
  REQUIRE(target_authority("http://only") == std::optional<std::string_view>("only"));
  REQUIRE(split_target("http://host:8080/v1/x?k=1").path == "/v1/x");
  REQUIRE_FALSE(target_authority("/v1/users/http://x"));
  REQUIRE_FALSE(target_authority("*"));
}

TEST_CASE("percent-decoding handles '/', spaces and UTF-8 and refuses malformed escapes") {
  std::string out;
  REQUIRE(percent_decode("a%2Fb%20c", out, false));
  REQUIRE(out == "a/b c");
  REQUIRE(percent_decode("%C3%A9+x", out, false));
  REQUIRE(out == "\xC3\xA9+x");
  REQUIRE(percent_decode("%c3%a9+x", out, true));
  REQUIRE(out == "\xC3\xA9 x");
  REQUIRE_FALSE(percent_decode("%", out, false));
  REQUIRE_FALSE(percent_decode("ab%4", out, false));
  REQUIRE_FALSE(percent_decode("%zz", out, false));
  REQUIRE_FALSE(percent_decode("%4g", out, false));
}

TEST_CASE("event bodies: one object or an array, defaults, and clear errors") {
  std::vector<recsys::rank::Event> events;
  REQUIRE(parse_events(R"({"user":"u1","item":"i9","value":4.5,"timestamp":1700000000})", events).status == 0);
  REQUIRE(events.size() == 1);
  REQUIRE(events[0].user == "u1");
  REQUIRE(events[0].item == "i9");
  REQUIRE(events[0].value == 4.5f);
  REQUIRE(events[0].timestamp == 1700000000);
  REQUIRE(parse_events(R"([{"user":7,"item":"x"},{"user":"b","item":12}])", events).status == 0);
  REQUIRE(events.size() == 2);
  REQUIRE(events[0].user == "7");
  REQUIRE(events[0].value == 1.0f);
  REQUIRE(events[0].timestamp > 1600000000);
  REQUIRE(events[1].item == "12");
  REQUIRE(parse_events("[]", events).status == 0);
  REQUIRE(events.empty());

  REQUIRE(parse_events("{\"user\":", events).status == 400);
  auto e = parse_events(R"([{"user":"a","item":"b"},{"item":"b"}])", events);
  REQUIRE(e.status == 422);
  REQUIRE(e.message == "event 1 has no \"user\"");
  REQUIRE(parse_events(R"({"user":"a","item":""})", events).status == 422);
  REQUIRE(parse_events(R"({"user":"a","item":"b","value":"x"})", events).status == 422);
  REQUIRE(parse_events(R"({"user":"a","item":"b","timestamp":"now"})", events).status == 422);
  REQUIRE(parse_events(R"({"user":["a"],"item":"b"})", events).status == 422);
  REQUIRE(parse_events(R"("just a string")", events).status == 422);
  REQUIRE(parse_events("{\"user\":\"" + std::string(600, 'x') + "\",\"item\":\"b\"}", events).status == 422);
}

TEST_CASE("a body the JSON parser has no memory for is a 503 to retry, not the client's 400") {
  auto memory = recsys::http::json_parse_error(simdjson::MEMALLOC);
  REQUIRE(memory.status == 503);
  REQUIRE(memory.code == "unavailable");
  auto invalid = recsys::http::json_parse_error(simdjson::TAPE_ERROR);
  REQUIRE(invalid.status == 400);
  REQUIRE(invalid.code == "bad_request");
  std::vector<recsys::rank::Event> events;
  REQUIRE(recsys::http::parse_events("{\"user\":", events).status == 400);
}
