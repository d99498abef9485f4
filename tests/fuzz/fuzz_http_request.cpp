// The HTTP request parser and router: raw bytes from a client, parsed as the
// session parses them (RequestParser::feed with the server's default limits,
// pipelined requests one after another, a parse error answered and the
// connection closed) and routed through handle_request against a small real
// LMDB database made once in a temp dir. Invariants: the parser always makes
// progress, every answer has a known status and a JSON error body that is
// valid JSON, and feeding the bytes in small pieces (as TCP may deliver them)
// gives the same answers as feeding them at once (but for a malformed header,
// which may be refused only once it is complete).
#include <boost/beast/http/error.hpp>
#include <simdjson.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "check.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "http/router.hpp"
#include "served_db.hpp"

namespace {

using namespace recsys;
using namespace recsys::http;
namespace bhttp = boost::beast::http;

constexpr std::string_view kToken = "fuzz-token";  // in the dictionary: "Bearer fuzz-token"

// A served database (20 users, 30 items, precomputed top-10) and one read snapshot.
struct Server {
  test::ServedDb served{20, 30, 7, 10};
  store::Database db = test::open_db(served.db, store::OpenMode::ReadOnly);
  SharedState shared;
  store::Txn txn = db.begin_read();
  HandlerContext ctx{shared, txn, {}, {}, {}, 0, {}};
  simdjson::dom::parser json;

  Server() {
    shared.db = &db;
    shared.token = kToken;
  }
};

void check_response(Server& s, const Response& r) {
  FUZZ_CHECK(std::strcmp(reason_phrase(r.status), "Unknown") != 0);
  std::string out;
  serialize(r, true, 11, "Thu, 01 Jan 2026 00:00:00 GMT", false, out);
  FUZZ_CHECK(out.size() > r.body.size() && out.compare(out.size() - r.body.size(), r.body.size(), r.body) == 0);
  if (r.content_type != "application/json") return;
  simdjson::padded_string body(r.body);
  simdjson::dom::element doc;
  FUZZ_CHECK(s.json.parse(body).get(doc) == simdjson::SUCCESS);  // every JSON answer parses
  if (r.status >= 400) {
    std::string_view code;
    FUZZ_CHECK(doc["error"]["code"].get(code) == simdjson::SUCCESS && !code.empty());
  }
}

// What a connection answered: statuses in order (0: events handed to the
// writer), whether the last one refused a malformed request, and whether the
// session was still waiting for the rest of a request when the bytes ran out.
struct Answers {
  std::vector<unsigned> statuses;
  bool parse_error = false;
  bool waiting = false;
};

// Answers the requests in `input` as a session would when the bytes arrive in
// pieces of `piece` bytes.
Answers serve_bytes(Server& s, std::string_view input, std::size_t piece) {
  Answers a;
  auto& statuses = a.statuses;
  Request request;
  Response response;
  std::optional<RequestParser> parser;
  std::size_t begin = 0, avail = std::min(piece, input.size());
  std::size_t steps = 0;
  while (begin < input.size()) {
    FUZZ_CHECK(++steps <= 4 * input.size() + 16);  // the parser always makes progress
    if (!parser) parser.emplace(request, s.shared.limits, s.shared.token);
    boost::beast::error_code ec;
    std::size_t used = parser->feed(input.data() + begin, avail - begin, ec);
    FUZZ_CHECK(used <= avail - begin);
    begin += used;
    if (ec == bhttp::error::need_more || (!ec && !parser->is_done() && begin == avail)) {
      if (avail == input.size()) {
        a.waiting = true;  // the client sent no more: the read time-out closes it
        break;
      }
      avail = std::min(input.size(), avail + piece);
      continue;
    }
    response.clear();
    if (ec) {
      auto refused = parser->refusal(ec);
      FUZZ_CHECK(refused.status >= 400 && refused.status < 500 && !refused.code.empty());
      set_error(response, refused.status, refused.code, refused.message);
      check_response(s, response);
      statuses.push_back(refused.status);
      a.parse_error = true;
      break;  // answered, then the connection closes
    }
    if (!parser->is_done()) continue;
    FUZZ_CHECK(request.target.size() <= s.shared.limits.max_target);
    FUZZ_CHECK(request.body.size() <= s.shared.limits.max_body);
    Handled h;
    try {
      h = handle_request(request, response, s.ctx);
    } catch (const std::exception& e) {
      response.clear();
      set_error(response, 500, "internal", e.what());
    }
    if (h.deferred) {
      FUZZ_CHECK(!s.ctx.events.empty() && h.route == Route::Events);
      s.ctx.events.clear();
      statuses.push_back(0);
    } else {
      check_response(s, response);
      statuses.push_back(response.status);
    }
    bool keep_alive = request.keep_alive;
    parser.reset();
    if (!keep_alive) break;
  }
  return a;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Server server;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto whole = serve_bytes(server, input, input.size());
  auto pieces = serve_bytes(server, input, 1 + size % 7);
  // Beast finds a malformed header at once only when the header came in one
  // read; in pieces it may wait for the end of the header (bounded by the
  // header limit and the read time-out). Anything else must not differ.
  bool same = whole.statuses == pieces.statuses && whole.parse_error == pieces.parse_error;
  bool later = whole.parse_error && pieces.waiting && !pieces.parse_error &&
               pieces.statuses.size() + 1 == whole.statuses.size() &&
               std::equal(pieces.statuses.begin(), pieces.statuses.end(), whole.statuses.begin());
  // A chunk-size line ended by a bare LF is refused as soon as it is seen
  // (else the client waits for the read time-out); given at once, Beast
  // reads on to the next CR, and answers by what it finds there (a bare CR:
  // 400; a CRLF: the size, 413 when over the limit). Bytes not yet come cannot
  // decide it, so the same request may be refused with another 4xx: refused
  // and closed either way, every earlier answer the same.
  bool refused_alike = whole.parse_error && pieces.parse_error && !whole.statuses.empty() &&
                       whole.statuses.size() == pieces.statuses.size() &&
                       std::equal(pieces.statuses.begin(), pieces.statuses.end() - 1, whole.statuses.begin()) &&
                       whole.statuses.back() / 100 == 4 && pieces.statuses.back() / 100 == 4;
  if (!same && !later && !refused_alike) {
    for (const auto* a : {&whole, &pieces}) {
      std::fprintf(stderr, a == &whole ? "at once:" : "in pieces of %zu:", 1 + size % 7);
      for (unsigned st : a->statuses) std::fprintf(stderr, " %u", st);
      std::fprintf(stderr, "%s%s\n", a->parse_error ? " (parse error)" : "", a->waiting ? " (waiting)" : "");
    }
  }
  FUZZ_CHECK(same || later || refused_alike);
  return 0;
}
