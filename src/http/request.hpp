// One parsed HTTP request, and the parser that fills it. The parser derives
// from Beast's basic_parser (RFC 9112 framing, limits, keep-alive rules,
// chunked bodies) but keeps only what the routes need in buffers owned by the
// connection, so parsing a request allocates nothing once the buffers are warm.
// RequestParser::feed() is the one entry for raw bytes: the session and the
// fuzz targets go through the same checks.
#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/verb.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace recsys::http {

namespace beast = boost::beast;

// Limits (see docs/serving.md). A request line or header block over these is
// answered 414 / 431, a body over the limit 413, a chunk-size line (with its
// extensions) over max_chunk_line 400, trailers over max_header 431; the
// connection is then closed.
struct Limits {
  std::uint32_t max_target = 4096;
  std::uint32_t max_header = 16 * 1024;
  std::uint64_t max_body = 1024 * 1024;
  std::uint32_t max_chunk_line = 4096;
};

struct Request {
  beast::http::verb method = beast::http::verb::unknown;
  int version = 11;
  bool keep_alive = true;
  // Whether the Authorization header carried the server's bearer token (true
  // when there is none). The body of an unauthorised request is not stored.
  bool authorized = true;
  // "Expect: 100-continue" in HTTP/1.1: the client waits for an interim 100
  // (or a final answer) before it sends the body.
  bool expect_continue = false;
  std::string target;
  std::string authorization;
  std::string host;    // the Host field; empty when absent
  std::string origin;  // the Origin field (browsers send it with every POST); empty when absent
  std::string if_none_match;  // the If-None-Match field (a revalidating browser); empty when absent
  std::string body;

  void clear() {
    method = beast::http::verb::unknown;
    version = 11;
    keep_alive = true;
    authorized = true;
    expect_continue = false;
    target.clear();
    authorization.clear();
    host.clear();
    origin.clear();
    if_none_match.clear();
    body.clear();
  }
};

// The answer to a request refused while parsing (the connection then closes).
struct ParseRefusal {
  unsigned status = 400;
  std::string_view code;
  std::string message;
};

// Constant-time comparison of "Bearer <token>" with the expected token (the
// scheme in any case, RFC 9110 11.1); an empty token means no authentication.
bool bearer_authorized(std::string_view authorization, std::string_view token);

class RequestParser : public beast::http::basic_parser<true> {
 public:
  RequestParser(Request& request, const Limits& limits, std::string_view token = {});

  // Feeds raw bytes as a session does: Beast's framing plus ours (transfer
  // codings, bounded chunk-size lines and trailers, a bare LF in the header
  // refused as soon as it arrives: Beast notices one only when the whole
  // header came in one read). Returns the bytes used;
  // ec is need_more when the request is incomplete, another error when it is
  // refused (answer with refusal(ec) and close).
  std::size_t feed(const char* data, std::size_t size, beast::error_code& ec);
  ParseRefusal refusal(const beast::error_code& ec) const;
  // Body bytes received so far (stored or not), for the minimum body rate.
  std::uint64_t body_received() const { return body_received_; }

 private:
  void on_request_impl(beast::http::verb method, beast::string_view method_str, beast::string_view target,
                       int version, beast::error_code& ec) override;
  void on_response_impl(int, beast::string_view, int, beast::error_code&) override {}
  void on_field_impl(beast::http::field name, beast::string_view name_string, beast::string_view value,
                     beast::error_code& ec) override;
  void on_header_impl(beast::error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length, beast::error_code& ec) override;
  std::size_t on_body_impl(beast::string_view body, beast::error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, beast::string_view extensions, beast::error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, beast::string_view body, beast::error_code& ec) override;
  void on_finish_impl(beast::error_code& ec) override;

  // Whether a chunk-size line starts with a size over what is left of the
  // body limit (Beast's 413 when it reads the line).
  bool chunk_size_over_limit(std::string_view line) const;
  enum class Why { None, TargetTooLong, TransferCoding, ChunkLineTooLong, TrailersTooLarge, TwoAuthorizations, TwoHosts, TwoOrigins, NoTargetHost };

  Request& request_;
  const Limits& limits_;
  std::string_view token_;
  Why why_ = Why::None;
  int transfer_encodings_ = 0;     // Transfer-Encoding fields seen
  bool only_chunked_ = true;       // ... and each was exactly "chunked"
  int authorizations_ = 0;         // Authorization fields seen
  int hosts_ = 0;                  // Host fields seen
  int origins_ = 0;                // Origin fields seen
  std::uint64_t trailer_bytes_ = 0;  // trailer field lines parsed
  std::uint64_t body_received_ = 0;
  std::uint64_t consumed_ = 0;    // bytes of this request feed() consumed
  std::uint64_t lf_checked_ = 0;  // bytes of this request checked for a bare LF
  char last_consumed_ = 0;
};

// Applies the limits to a Beast parser (header and body limits, eager body
// parsing); RequestParser's constructor calls it.
void configure_parser(beast::http::basic_parser<true>& parser, const Limits& limits);

}  // namespace recsys::http
