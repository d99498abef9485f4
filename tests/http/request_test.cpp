// HTTP request framing cases found by fuzzing (tests/fuzz, docs/fuzzing.md):
// the answer must not depend on how TCP splits the bytes.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "client.hpp"
#include "served_db.hpp"

using namespace recsys;
using namespace std::chrono_literals;
using test::Connection;

TEST_CASE("a header with bare LF line ends is refused at once even when it arrives in pieces") {
  test::ServedDb f(10, 12, 3, 5);
  test::Server server(f.dir, f.db);
  // Sent in one piece, Beast refuses it as soon as it reads the line end.
  Connection whole(server.port());
  whole.send("GET /healthz HTTP/1.1\nHost: localhost\n\n");
  REQUIRE(whole.read_response(2000ms).status == 400);
  REQUIRE(whole.closed_by_peer());
  // In pieces it used to wait for a CRLFCRLF that never comes, until the read time-out.
  for (std::string first : {"GET /healthz HTTP/1.1\n", "GET /healthz HTTP/1.1\r\n\n", "GET /hea",
                            "GET /healthz HTTP/1.1\r\nHost: localhost\n"}) {
    INFO(first);
    Connection c(server.port());
    c.send(first);
    std::this_thread::sleep_for(50ms);
    c.send("Host: localhost\n\n");
    REQUIRE(c.read_response(2000ms).status == 400);
    REQUIRE(c.closed_by_peer());
  }
  // CRLF requests split anywhere are still answered normally.
  Connection ok(server.port());
  ok.send("GET /healthz HTTP/1.1\r");
  std::this_thread::sleep_for(50ms);
  ok.send("\nHost: localhost\r\n\r");
  std::this_thread::sleep_for(50ms);
  ok.send("\n");
  REQUIRE(ok.read_response(2000ms).status == 200);
}

// RFC 9110 10.1.1: curl sends "Expect: 100-continue" with bodies over 1 KiB
// and waits a second for the interim answer before it sends the body anyway;
// other clients wait until their own time-out. It used to never come.
TEST_CASE("Expect: 100-continue gets an interim 100 before the body, then the final answer") {
  test::ServedDb f(10, 12, 3, 5);
  test::Server server(f.dir, f.db);
  const std::string body = R"({"user":"u1","item":"i2","value":1})";
  Connection c(server.port());
  c.send("POST /v1/events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n");
  REQUIRE(c.read_response(2000ms).status == 100);  // before any body byte was sent
  c.send(body);
  auto r = c.read_response();
  REQUIRE(r.status == 200);
  REQUIRE(r.body == R"({"accepted":1})");
  // The connection goes on, and a request without the expectation gets no 100.
  c.send("POST /v1/events HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  REQUIRE(c.read_response().status == 200);
  // A body sent at once with the expectation needs no interim answer.
  c.send("POST /v1/events HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body);
  REQUIRE(c.read_response().status == 200);
  // HTTP/1.0 has no interim answers (RFC 9110 10.1.1): the body is awaited.
  Connection old(server.port());
  old.send("POST /v1/events HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n");
  std::this_thread::sleep_for(200ms);
  old.send(body);
  REQUIRE(old.read_response().status == 200);
}

// RFC 9112 2.2: a server should ignore at least one empty line before a
// request line. A CRLF after a POST body (some clients add one) made the
// next request on the connection a 400 "bad method".
TEST_CASE("empty lines before a request line are ignored") {
  test::ServedDb f(10, 12, 3, 5);
  test::Server server(f.dir, f.db);
  Connection c(server.port());
  c.send("\r\nGET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
  REQUIRE(c.read_response().status == 200);
  const std::string body = R"({"user":"u-blank","item":"i2","value":1})";
  c.send("POST /v1/events HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body +
         "\r\n\r\nGET /v1/users/u-blank/history HTTP/1.1\r\nHost: localhost\r\n\r\n");
  REQUIRE(c.read_response().status == 200);
  auto history = c.read_response();
  REQUIRE(history.status == 200);
  REQUIRE_THAT(history.body, Catch::Contains("i2"));
  // In pieces, a CR alone included; then an idle connection stays open.
  c.send("\r");
  std::this_thread::sleep_for(50ms);
  c.send("\nGET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n\r\n");
  REQUIRE(c.read_response().status == 200);
  REQUIRE(c.get("/healthz").status == 200);
  // Anything else before the request line is still refused.
  Connection lf(server.port());
  lf.send("\nGET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
  REQUIRE(lf.read_response().status == 400);
}

// A request refused whatever its body holds got "100 Continue" first: the
// client then sent a body (up to the body limit) that the server read only to
// throw away. Now it gets the final answer at once, and the connection closes.
TEST_CASE("Expect: 100-continue with a wrong token or another site's Origin gets the final answer instead of 100") {
  test::ServedDb f(10, 12, 3, 5);
  test::TempDir tokens;
  auto token_file = tokens.write("token", "s3cret\n");
  test::Server server(f.dir, f.db, {"--token-file", token_file.string()});
  const std::string body = R"({"user":"u-expect","item":"i2","value":1})";
  auto head = [&](const std::string& fields) {
    return "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n" + fields + "Expect: 100-continue\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n";
  };
  struct Case {
    std::string fields;
    int status;
    const char* code;
  };
  for (const auto& c : {Case{"", 401, "unauthorized"}, Case{"Authorization: Bearer wrong\r\n", 401, "unauthorized"},
                        Case{"Authorization: Bearer s3cret\r\nOrigin: http://evil.example\r\n", 403, "forbidden"}}) {
    INFO(c.fields);
    Connection conn(server.port());
    conn.send(head(c.fields));  // no body: the answer must not wait for it
    auto r = conn.read_response(2000ms);
    REQUIRE(r.status == c.status);
    REQUIRE(r.body.find(std::string("\"code\":\"") + c.code + '"') != std::string::npos);
    REQUIRE(r.headers["connection"] == "close");
    REQUIRE(conn.closed_by_peer());
  }
  // The right token still gets the interim answer, then its events stored.
  Connection ok(server.port());
  ok.send(head("Authorization: Bearer s3cret\r\n"));
  REQUIRE(ok.read_response(2000ms).status == 100);
  ok.send(body);
  REQUIRE(ok.read_response().status == 200);
  Connection check(server.port());
  REQUIRE(check.get("/v1/users/u-expect/history").body.find("i2") != std::string::npos);
  // Counted like the refusals they are.
  auto metrics = check.get("/metrics").body;
  REQUIRE(metrics.find(R"(route="events",status="401"} 2)") != std::string::npos);
  REQUIRE(metrics.find(R"(route="events",status="403"} 1)") != std::string::npos);
}

// Without a token, any web page a visitor of the host opens could make the
// browser POST events here: a form, or fetch() with a text/plain body, needs
// no CORS preflight. Browsers send Origin with every POST; curl and services
// send none, and the dashboard sends its own origin.
TEST_CASE("events posted from a web page of another site, or with two Host or Origin fields, are refused; the server's own pages and other clients are not") {
  test::ServedDb f(10, 12, 3, 5);
  test::Server server(f.dir, f.db, {"--allow-host", "recs.example.com"});  // a proxy's name, passed on
  const std::string body = R"({"user":"u-origin","item":"i2","value":1})";
  auto post = [&](const std::string& headers) {
    Connection c(server.port());
    c.send("POST /v1/events HTTP/1.1\r\n" + headers + "Content-Type: text/plain\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body);
    return c.read_response();
  };
  for (const char* refused : {"Host: 127.0.0.1:8080\r\nOrigin: http://evil.example\r\n",
                              "Host: 127.0.0.1:8080\r\nOrigin: null\r\n",
                              "Host: 127.0.0.1:8080\r\nOrigin: http://127.0.0.1:8081\r\n",
                              "Host: 127.0.0.1:8080\r\nOrigin: https://127.0.0.1:8080.evil.example\r\n",
                              "Origin: http://127.0.0.1:8080\r\n"}) {
    INFO(refused);
    auto r = post(refused);
    REQUIRE(r.status == 403);
    REQUIRE(r.body.find(R"("code":"forbidden")") != std::string::npos);
  }
  // Two Host fields (RFC 9112 3.2: 400), so the Origin check has one to compare with.
  auto two = post("Host: evil.example\r\nHost: 127.0.0.1:8080\r\nOrigin: http://127.0.0.1:8080\r\n");
  REQUIRE(two.status == 400);
  REQUIRE(two.body.find("more than one Host") != std::string::npos);
  // Two Origin fields: either could decide the check, so neither does.
  for (const char* origins : {"Host: 127.0.0.1:8080\r\nOrigin: http://evil.example\r\nOrigin: http://127.0.0.1:8080\r\n",
                              "Host: 127.0.0.1:8080\r\nOrigin: http://127.0.0.1:8080\r\nOrigin: http://evil.example\r\n"}) {
    INFO(origins);
    auto r = post(origins);
    REQUIRE(r.status == 400);
    REQUIRE(r.body.find("more than one Origin") != std::string::npos);
  }
  Connection check(server.port());
  REQUIRE(check.get("/v1/users/u-origin/history").body.find("i2") == std::string::npos);
  for (const char* taken : {"Host: 127.0.0.1:8080\r\n", "Host: 127.0.0.1:8080\r\nOrigin: http://127.0.0.1:8080\r\n",
                            "Host: Recs.Example.com\r\nOrigin: https://recs.example.com\r\n",
                            "Host: recs.example.com:443\r\nOrigin: https://recs.example.com\r\n",
                            "Host: recs.example.com\r\nOrigin: http://recs.example.com:80\r\n"}) {
    INFO(taken);
    REQUIRE(post(taken).status == 200);
  }
  REQUIRE(check.get("/v1/users/u-origin/history").body.find("i2") != std::string::npos);
}

// DNS rebinding: a page of any site whose name then resolves to 127.0.0.1
// is same-origin with a loopback server in the browser. It could read every
// user's history and recommendations and post events (Origin matched Host),
// a token for writes or not. A loopback server now answers only requests that
// name this machine.
TEST_CASE("a loopback server answers only Host names of this machine, and names allowed with --allow-host") {
  test::ServedDb f(10, 12, 3, 5);
  test::TempDir tokens;
  auto token_file = tokens.write("token", "s3cret\n");
  test::Server server(f.dir, f.db, {"--allow-host", "Recs.Example.COM", "--token-file", token_file.string()});
  auto with_host = [&](const std::string& host, const std::string& target = "/v1/users/u1/history") {
    Connection c(server.port());
    c.send("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    return c.read_response();
  };
  for (const char* ours : {"localhost", "localhost:8080", "LocalHost.", "app.localhost:1", "127.0.0.1", "127.0.0.1:80",
                           "127.1.2.3:8080", "[::1]", "[::1]:8080", "recs.example.com", "RECS.example.com:443"}) {
    INFO(ours);
    REQUIRE(with_host(ours).status == 200);
  }
  for (const char* other : {"evil.example", "evil.example:8080", "127.0.0.1.evil.example", "localhost.evil.example",
                            "10.0.0.1", "[::2]:8080", "[::1", "example.com"}) {
    INFO(other);
    auto r = with_host(other);
    REQUIRE(r.status == 421);
    REQUIRE_THAT(r.body, Catch::Contains("misdirected_request") && Catch::Contains("--allow-host"));
    REQUIRE(with_host(other, "/healthz").status == 421);
  }
  // Events too, even with the right token and a matching Origin (what a rebound page sends).
  const std::string body = R"({"user":"u-rebind","item":"i2","value":1})";
  Connection post(server.port());
  post.send("POST /v1/events HTTP/1.1\r\nHost: evil.example:8080\r\nOrigin: http://evil.example:8080\r\n"
            "Authorization: Bearer s3cret\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  REQUIRE(post.read_response().status == 421);
  // HTTP/1.0 without Host (no browser sends that) is answered.
  Connection old(server.port());
  old.send("GET /healthz HTTP/1.0\r\n\r\n");
  REQUIRE(old.read_response().status == 200);
  REQUIRE(with_host("localhost", "/v1/users/u-rebind/history").body.find("i2") == std::string::npos);
  // A bad --allow-host is a usage error.
  auto bad = test::run_recsys({"--db", f.db, "serve", "--port", "0", "--allow-host", "recs.example.com:443"}, f.dir);
  REQUIRE(bad.status == 2);
  REQUIRE_THAT(bad.err, Catch::Contains("a host name without port"));
}

TEST_CASE("request-line and header rules: absolute-form, long request lines, Authorization, ids, k") {
  test::ServedDb f(10, 12, 3, 5);
  test::TempDir tokens;
  auto token_file = tokens.write("token", "s3cret\n");
  test::Server server(f.dir, f.db, {"--token-file", token_file.string()});
  auto send = [&](const std::string& request) {
    Connection c(server.port());
    c.send(request);
    return c.read_response();
  };
  // RFC 9112 3.2.2: a server must accept the absolute-form.
  auto r = send("GET http://127.0.0.1/v1/users/u1/recommendations?k=2 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  REQUIRE(r.status == 200);
  REQUIRE(r.body.find(R"("user":"u1")") != std::string::npos);
  REQUIRE(send("GET HTTP://localhost:1/healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").status == 200);
  // Its authority, not Host, names the server (RFC 9112 3.2.2): the loopback name check uses it.
  REQUIRE(send("GET http://evil.example/healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").status == 421);
  REQUIRE(send("GET http://user@localhost:8080/healthz HTTP/1.1\r\nHost: evil.example\r\n\r\n").status == 200);
  // An absolute-form target that names no host is invalid (RFC 9110 4.2.1),
  // not a request without Host that the name check lets through.
  for (const char* empty : {"http:///healthz", "http://user@/healthz", "http://?x=1", "http://:8080/healthz"}) {
    r = send(std::string("GET ") + empty + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
    REQUIRE(r.status == 400);
    REQUIRE_THAT(r.body, Catch::Contains("without a host"));
  }
  // A request line past the header limit is a too-long target (414), as one
  // past the target limit is; a large header after a short line stays 431.
  r = send("GET /v1/users/u1/recommendations?exclude=" + std::string(20000, 'a') + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
  REQUIRE(r.status == 414);
  r = send("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  REQUIRE(r.status == 431);
  // The scheme is case-insensitive (RFC 9110 11.1); two Authorization fields are ambiguous.
  const std::string body = R"({"user":"u1","item":"i2","value":1})";
  auto post = [&](const std::string& auth) {
    return send("POST /v1/events HTTP/1.1\r\nHost: localhost\r\n" + auth + "Content-Length: " + std::to_string(body.size()) +
                "\r\n\r\n" + body);
  };
  REQUIRE(post("Authorization: Bearer s3cret\r\n").status == 200);
  REQUIRE(post("Authorization: BEARER s3cret\r\n").status == 200);
  REQUIRE(post("Authorization: Bearer s3cre\r\n").status == 401);
  REQUIRE(post("Authorization: Bearer wrong\r\nAuthorization: Bearer s3cret\r\n").status == 400);
  REQUIRE(post("Authorization: Bearer s3cret\r\nAuthorization: Bearer s3cret\r\n").status == 400);
  // Ids that are not UTF-8 cannot be stored: refused, not echoed altered.
  Connection c(server.port());
  r = c.get("/v1/users/%FF%FE/recommendations");
  REQUIRE(r.status == 400);
  REQUIRE(r.body.find("not valid UTF-8") != std::string::npos);
  REQUIRE(c.get("/v1/items/%C3%28/similar").status == 400);
  REQUIRE(c.get("/v1/users/%C3%28/history").status == 400);
  // k past size_t's range asks for the whole list, as the largest size_t does.
  auto whole = c.get("/v1/users/u1/recommendations?k=18446744073709551615");
  REQUIRE(whole.status == 200);
  r = c.get("/v1/users/u1/recommendations?k=99999999999999999999999");
  REQUIRE(r.status == 200);
  REQUIRE(r.body == whole.body);
  REQUIRE(c.get("/v1/users/u1/recommendations?k=9999999999999999999x").status == 400);
}
