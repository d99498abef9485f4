#include "http/request.hpp"

#include <boost/beast/http/error.hpp>

namespace recsys::http {

RequestParser::RequestParser(Request& request, const Limits& limits) : request_(request), limits_(limits) {
  request_.clear();
  header_limit(limits.max_header);
  body_limit(limits.max_body);
  eager(true);
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
