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
  whole.send("GET /healthz HTTP/1.1\nHost: x\n\n");
  REQUIRE(whole.read_response(2000ms).status == 400);
  REQUIRE(whole.closed_by_peer());
  // In pieces it used to wait for a CRLFCRLF that never comes, until the read time-out.
  for (std::string first : {"GET /healthz HTTP/1.1\n", "GET /healthz HTTP/1.1\r\n\n", "GET /hea",
                            "GET /healthz HTTP/1.1\r\nHost: x\n"}) {
    INFO(first);
    Connection c(server.port());
    c.send(first);
    std::this_thread::sleep_for(50ms);
    c.send("Host: y\n\n");
    REQUIRE(c.read_response(2000ms).status == 400);
    REQUIRE(c.closed_by_peer());
  }
  // CRLF requests split anywhere are still answered normally.
  Connection ok(server.port());
  ok.send("GET /healthz HTTP/1.1\r");
  std::this_thread::sleep_for(50ms);
  ok.send("\nHost: x\r\n\r");
  std::this_thread::sleep_for(50ms);
  ok.send("\n");
  REQUIRE(ok.read_response(2000ms).status == 200);
}
