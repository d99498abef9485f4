// Hostile framing against the real server: request smuggling through transfer
// codings, endless chunk-size lines and trailers, malformed requests. Each is
// answered with the right 4xx or a close, and the server keeps serving.
#include <catch2/catch.hpp>

#include <string>

#include "client.hpp"
#include "served_db.hpp"

using namespace recsys;
using test::Connection;

namespace {

struct Fixture : test::ServedDb {
  Fixture() : ServedDb(30, 40, 11, 5) {}
};

// One response with `status`, then the server closes: nothing else arrives.
void require_refused_and_closed(Connection& c, int status) {
  auto r = c.read_response();
  REQUIRE(r.status == status);
  REQUIRE_THAT(r.body, Catch::Contains("\"error\""));
  REQUIRE(r.headers["connection"] == "close");
  REQUIRE(c.closed_by_peer());
}

}  // namespace

TEST_CASE("Transfer-Encoding gzip cannot smuggle a second request in the body") {
  Fixture f;
  test::Server server(f.dir, f.db);
  const std::string smuggled = "GET /v1/users/SMUGGLED/recommendations HTTP/1.1\r\nHost: localhost\r\n\r\n";
  Connection c(server.port());
  c.send("POST /v1/events HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n" + smuggled);
  require_refused_and_closed(c, 400);  // closed_by_peer: no second response was read
  REQUIRE(Connection(server.port()).get("/healthz").status == 200);
}

TEST_CASE("any transfer coding but one final chunked is refused with 400 and a close") {
  Fixture f;
  test::Server server(f.dir, f.db);
  const std::string post = "POST /v1/events HTTP/1.1\r\nHost: localhost\r\n";
  const std::string body = "5\r\nhello\r\n0\r\n\r\n";
  for (const std::string headers : {
           "Transfer-Encoding: chunked, gzip\r\n",
           "Transfer-Encoding: gzip, chunked\r\n",
           "Transfer-Encoding: identity\r\n",
           "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
           "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
           "Transfer-Encoding: gzip\r\nContent-Length: 5\r\n",
           "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
           "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
       }) {
    CAPTURE(headers);
    Connection c(server.port());
    c.try_send(post + headers + "\r\n" + body + "GET /healthz HTTP/1.1\r\n\r\n");
    require_refused_and_closed(c, 400);
  }
  Connection old(server.port());
  old.try_send("POST /v1/events HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" + body);
  require_refused_and_closed(old, 400);
  // A plain chunked body still works.
  Connection ok(server.port());
  ok.send(post + "Transfer-Encoding: chunked\r\n\r\n19\r\n{\"user\":\"u1\",\"item\":\"i2\"}\r\n0\r\n\r\n");
  REQUIRE(ok.read_response().status == 200);
}

TEST_CASE("a chunk-size line or trailer that never ends is refused, not buffered") {
  Fixture f;
  test::Server server(f.dir, f.db);
  const std::string head = "POST /v1/events HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n";
  Connection ext(server.port());
  ext.try_send(head + "5;name=" + std::string(64 * 1024, 'x'));
  require_refused_and_closed(ext, 400);

  Connection size(server.port());
  size.try_send(head + std::string(8 * 1024, '0'));
  require_refused_and_closed(size, 400);

  Connection trailer(server.port());
  trailer.try_send(head + "2\r\n[]\r\n0\r\nX-Trailer: " + std::string(64 * 1024, 't'));
  require_refused_and_closed(trailer, 431);

  Connection many(server.port());
  std::string trailers;
  for (int i = 0; i < 2000; ++i) trailers += "X-T" + std::to_string(i) + ": v\r\n";
  many.try_send(head + "0\r\n" + trailers);
  require_refused_and_closed(many, 431);
  REQUIRE(Connection(server.port()).get("/healthz").status == 200);
}

// The limits held only for bytes that arrived in pieces: sent in one write, a
// whole 8 KB chunk-size line and 18 KB of trailers were taken (200).
TEST_CASE("a whole chunk-size line or trailer block over its limit is refused however the bytes arrive") {
  Fixture f;
  test::Server server(f.dir, f.db);
  const std::string head = "POST /v1/events HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n";
  auto answer = [&](const std::string& chunked) {
    Connection c(server.port());
    c.try_send(head + chunked);
    return c.read_response().status;
  };
  // A line of 4096 bytes (digit, ';', extension) is at the limit; one more is over.
  const std::string at_limit = "2;" + std::string(4094, 'a');
  REQUIRE(answer(at_limit + "\r\n[]\r\n0\r\n\r\n") == 200);
  REQUIRE(answer(at_limit + "a\r\n[]\r\n0\r\n\r\n") == 400);
  REQUIRE(answer("2;" + std::string(8000, 'a') + "\r\n[]\r\n0\r\n\r\n") == 400);
  REQUIRE(answer("2\r\n[]\r\n0\r\nX-T: " + std::string(18000, 't') + "\r\n\r\n") == 431);
  std::string trailers;
  for (int i = 0; i < 1000; ++i) trailers += "X-T" + std::to_string(i) + ": v\r\n";  // 9.9 KB: within 16 KiB
  REQUIRE(answer("2\r\n[]\r\n0\r\n" + trailers + "\r\n") == 200);
}

TEST_CASE("malformed requests get a 4xx or a close, never a crash") {
  Fixture f;
  test::Server server(f.dir, f.db);
  struct Case {
    std::string bytes;
    int status;  // 0: closed without an answer is fine too
  };
  std::string many_headers;
  for (int i = 0; i < 3000; ++i) many_headers += "X-H" + std::to_string(i) + ": v\r\n";
  std::string short_fields;
  for (int i = 0; i < 5000; ++i) short_fields += "X: a\r\n";  // 30 000 bytes
  const Case cases[] = {
      {"GET /healthz HTTP/1.1\r\nX-Big: " + std::string(40000, 'a') + "\r\n\r\n", 431},
      {"GET /healthz HTTP/1.1\r\n" + many_headers + "\r\n", 431},
      // Short fields summing to more than the limit but less than twice it were taken.
      {"GET /healthz HTTP/1.1\r\n" + short_fields + "\r\n", 431},
      {"GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n", 0},
      {std::string("GET /healthz HTTP/1.1\r\nX-N: a\0b\r\n\r\n", 33), 400},
      {std::string("GET /\0healthz HTTP/1.1\r\n\r\n", 26), 400},
      {"GET /healthz HTTP/1.1\nHost: localhost\n\n", 400},
      {"POST /v1/events HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400},
      {"POST /v1/events HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
      {"POST /v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
      {"POST /v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n", 400},
      {"POST /v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n", 400},
      // Bare LFs in the chunk framing: they waited for the read time-out with no answer.
      {"POST /v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\n[]\n0\n\n", 400},
      {"POST /v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\n\r\n", 400},
      {"POST /v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\n", 400},
      {"POST /v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\nX: y\n\r\n", 400},
      {"POST /v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]\n", 400},
      // A size over the body limit is a 413 before the line's end is looked at, as Beast answers given it at once.
      {"POST /v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\n", 413},
      {"POST /v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\nxx\r\n", 413},
      // ... while an LF inside chunk data is data.
      {"POST /v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1a\r\n{\"user\":\"u1\",\n\"item\":\"i1\"}\r\n0\r\n\r\n", 200},
      {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400},
      {"GET /v1/users/%zz/recommendations HTTP/1.1\r\n\r\n", 400},
      {"GET /v1/users/a%/recommendations HTTP/1.1\r\n\r\n", 400},
  };
  for (const auto& c : cases) {
    CAPTURE(c.bytes.substr(0, 60));
    Connection conn(server.port());
    conn.try_send(c.bytes);
    if (c.status == 0) {
      try {
        REQUIRE(conn.read_response().status >= 400);
      } catch (const std::runtime_error& e) {
        REQUIRE(std::string(e.what()) == "eof");
      }
    } else {
      REQUIRE(conn.read_response().status == c.status);
    }
  }
  REQUIRE(Connection(server.port()).get("/healthz").status == 200);
}
