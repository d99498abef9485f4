// One parsed HTTP request, and the parser that fills it. The parser derives
// from Beast's basic_parser (RFC 7230 framing, limits, keep-alive rules,
// chunked bodies) but keeps only what the routes need in buffers owned by the
// connection, so parsing a request allocates nothing once the buffers are warm.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/verb.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace recsys::http {

namespace beast = boost::beast;

// Limits (see docs/serving.md). A request line or header block over these is
// answered 414 / 431, a body over the limit 413, and the connection closed.
struct Limits {
  std::uint32_t max_target = 4096;
  std::uint32_t max_header = 16 * 1024;
  std::uint64_t max_body = 1024 * 1024;
};

struct Request {
  beast::http::verb method = beast::http::verb::unknown;
  int version = 11;
  bool keep_alive = true;
  std::string target;
  std::string authorization;
  std::string body;

  void clear() {
    method = beast::http::verb::unknown;
    version = 11;
    keep_alive = true;
    target.clear();
    authorization.clear();
    body.clear();
  }
};

class RequestParser : public beast::http::basic_parser<true> {
 public:
  RequestParser(Request& request, const Limits& limits);
  // Parses what `buffer` holds (basic_parser::put) and refuses a bare LF in the
  // header as soon as it arrives: Beast notices one only when the whole header
  // came in one read, and otherwise waits for a CRLFCRLF that may never come.
  std::size_t parse(boost::asio::const_buffer buffer, beast::error_code& ec);
  // Set when on_request_impl refused an over-long target (answer 414).
  bool target_too_long() const { return target_too_long_; }

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

  Request& request_;
  const Limits& limits_;
  bool target_too_long_ = false;
  std::uint64_t consumed_ = 0;    // bytes of this request parse() consumed
  std::uint64_t lf_checked_ = 0;  // bytes of this request checked for a bare LF
  char last_consumed_ = 0;
};

}  // namespace recsys::http
