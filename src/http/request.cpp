#include "http/request.hpp"

#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstring>

namespace recsys::http {

RequestParser::RequestParser(Request& request, const Limits& limits) : request_(request), limits_(limits) {
  request_.clear();
  header_limit(limits.max_header);
  body_limit(limits.max_body);
  eager(true);
}

std::size_t RequestParser::parse(boost::asio::const_buffer buffer, beast::error_code& ec) {
  std::size_t used = put(buffer, ec);
  const char* p = static_cast<const char*>(buffer.data());
  std::uint64_t start = consumed_;  // request offset of buffer[0]
  if (ec == beast::http::error::need_more && !is_header_done()) {
    // Only the new bytes: a slow client must not make this quadratic.
    std::size_t k = static_cast<std::size_t>(std::max(lf_checked_, start) - start);
    while (k < buffer.size()) {
      const void* lf = std::memchr(p + k, '\n', buffer.size() - k);
      if (!lf) break;
      k = static_cast<std::size_t>(static_cast<const char*>(lf) - p);
      char before = k > 0 ? p[k - 1] : last_consumed_;
      if (before != '\r') {
        ec = beast::http::error::bad_line_ending;
        return used;
      }
      ++k;
    }
    lf_checked_ = start + buffer.size();
  }
  consumed_ += used;
  if (used > 0) last_consumed_ = p[used - 1];
  return used;
}

void RequestParser::on_request_impl(beast::http::verb method, beast::string_view, beast::string_view target,
                                    int version, beast::error_code& ec) {
  if (target.size() > limits_.max_target) {
    target_too_long_ = true;
    ec = beast::http::error::bad_target;
    return;
  }
  request_.method = method;
  request_.version = version;
  request_.target.assign(target.data(), target.size());
}

void RequestParser::on_field_impl(beast::http::field name, beast::string_view, beast::string_view value,
                                  beast::error_code&) {
  if (name == beast::http::field::authorization) request_.authorization.assign(value.data(), value.size());
}

void RequestParser::on_header_impl(beast::error_code&) { request_.keep_alive = keep_alive(); }

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length, beast::error_code&) {
  if (content_length) request_.body.reserve(static_cast<std::size_t>(*content_length));
}

std::size_t RequestParser::on_body_impl(beast::string_view body, beast::error_code&) {
  request_.body.append(body.data(), body.size());
  return body.size();
}

void RequestParser::on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) {}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code&) {
  request_.body.append(body.data(), body.size());
  return body.size();
}

void RequestParser::on_finish_impl(beast::error_code&) { request_.keep_alive = keep_alive(); }

}  // namespace recsys::http
