#include "http/request.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstring>

#include "http/url.hpp"

namespace recsys::http {

void configure_parser(beast::http::basic_parser<true>& parser, const Limits& limits) {
  parser.header_limit(limits.max_header);
  parser.body_limit(limits.max_body);
  parser.eager(true);
}

bool bearer_authorized(std::string_view auth, std::string_view token) {
  if (token.empty()) return true;
  if (auth.size() < 7 || !beast::iequals(beast::string_view(auth.data(), 7), "bearer ")) return false;
  // RFC 9110 11.4: credentials = auth-scheme [ 1*SP token68 ]: one space or more.
  std::string_view given = auth.substr(std::min(auth.size(), auth.find_first_not_of(' ', 7)));
  if (given.size() != token.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < given.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ token[i]);
  return diff == 0;
}

RequestParser::RequestParser(Request& request, const Limits& limits, std::string_view token)
    : request_(request), limits_(limits), token_(token) {
  request_.clear();
  configure_parser(*this, limits);
}

std::size_t RequestParser::feed(const char* data, std::size_t size, beast::error_code& ec) {
  // Boost 1.74 asserts (n >= 5) when a last chunk "0\r\n" came without a
  // previous chunk and its trailers are still partial: a chunked body cannot
  // end in fewer than 5 bytes, so wait for them (found by tests/fuzz).
  if (size < 5 && is_header_done() && chunked() && !is_done()) {
    ec = beast::http::error::need_more;
    return 0;
  }
  // Beast 1.74 consumes the field lines it has parsed and applies its header
  // limit to each call's bytes, not to the header: 30 KB of short fields
  // passed a 16 KiB limit. The end of the header must lie within the limit,
  // counted from the request's first byte.
  if (!is_header_done() && consumed_ + size > limits_.max_header) {
    const std::size_t room = limits_.max_header > consumed_ ? static_cast<std::size_t>(limits_.max_header - consumed_) : 0;
    const std::string_view within(data, std::min(size, room));
    const bool ends = within.find("\r\n\r\n") != std::string_view::npos ||
                      (consumed_ > 0 && within.substr(0, 2) == "\r\n");  // after a consumed field line
    if (!ends) {
      if (consumed_ == 0) {  // the request line is still here: a target over its own limit is a 414
        const void* lf = std::memchr(data, '\n', size);
        const std::size_t line = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - data) : size;
        if (line > limits_.max_target) why_ = Why::TargetTooLong;
      }
      ec = beast::http::error::header_limit;
      return 0;
    }
  }
  std::size_t used = put(boost::asio::const_buffer(data, size), ec);
  std::uint64_t start = consumed_;  // request offset of data[0]
  consumed_ += used;
  char before_data = last_consumed_;
  if (used > 0) last_consumed_ = data[used - 1];
  if (ec == beast::http::error::header_limit && !is_header_done()) {
    // Beast parses nothing before the whole header is in, so the request line
    // of a header over the limit was never seen by on_request_impl: a first
    // line longer than max_target is the too-long target it checks for (414),
    // anything else a header too large (431). data[0] starts the request.
    const void* lf = std::memchr(data, '\n', size);
    std::size_t line = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - data) : size;
    if (consumed_ == used && line > limits_.max_target) why_ = Why::TargetTooLong;
    return used;
  }
  if (ec == beast::http::error::need_more && !is_header_done()) {
    // Beast looks for the CRLFCRLF before parsing a header that came in
    // pieces, so a bare LF would keep it waiting: check the new bytes only
    // (a slow client must not make this quadratic).
    std::size_t k = static_cast<std::size_t>(std::max(lf_checked_, start) - start);
    while (k < size) {
      const void* lf = std::memchr(data + k, '\n', size - k);
      if (!lf) break;
      k = static_cast<std::size_t>(static_cast<const char*>(lf) - data);
      if ((k > 0 ? data[k - 1] : before_data) != '\r') {
        // Given the whole header at once, Beast reads the request line before
        // the fields, so a fault there (a target over the limit: 414) is the
        // one it reports. Here the bytes arrived in pieces: ask a parser of
        // our own for the request line alone first (found by tests/fuzz: 414
        // at once, 400 in pieces). data[0] starts the request: Beast consumes
        // nothing before the whole header is in.
        if (start == 0) {
          const void* first_lf = std::memchr(data, '\n', k);
          const std::size_t first = first_lf ? static_cast<std::size_t>(static_cast<const char*>(first_lf) - data) : k;
          if (first < k && first > 0 && data[first - 1] == '\r') {
            std::string line(data, first + 1);
            line += "\r\n";
            Request scratch;
            RequestParser probe(scratch, limits_, token_);
            beast::error_code line_ec;
            probe.feed(line.data(), line.size(), line_ec);
            if (line_ec && line_ec != beast::http::error::need_more) {
              why_ = probe.why_;
              ec = line_ec;
              return used;
            }
          }
        }
        ec = beast::http::error::bad_line_ending;
        return used;
      }
      ++k;
    }
    lf_checked_ = start + size;
    return used;
  }
  if (ec != beast::http::error::need_more || !is_header_done() || !chunked()) return used;
  // Beast keeps an unfinished chunk-size line, or the last chunk and its
  // trailers, unconsumed and waits without a limit: bound both here. The line
  // may start with the CRLF that ends the previous chunk's data.
  std::string_view rest(data + used, size - used);
  // A chunk-size line, the last chunk or a trailer ended by a bare LF: Beast
  // waits for the CRLF until the read time-out and the client gets no answer.
  // Refused at once, as in the header. `rest` is framing only: Beast consumes
  // chunk data as it comes (eager).
  for (std::size_t lf = rest.find('\n'); lf != std::string_view::npos; lf = rest.find('\n', lf + 1)) {
    const char before = lf > 0 ? rest[lf - 1] : (used > 0 ? data[used - 1] : before_data);
    if (before != '\r') {
      // Given at once, with a CRLF further on, Beast reads the chunk size
      // first and refuses one over the body limit with 413: the same answer
      // here, whichever way the bytes came (found by tests/fuzz).
      ec = chunk_size_over_limit(rest) ? beast::http::error::body_limit : beast::http::error::bad_line_ending;
      return used;
    }
  }
  std::size_t line_limit = std::size_t{limits_.max_chunk_line} + 2;
  std::size_t eol = rest.substr(0, line_limit + 1).find('\n');
  if (eol == std::string_view::npos && rest.size() > line_limit) {
    why_ = Why::ChunkLineTooLong;
    ec = beast::http::error::bad_chunk;
  } else if (rest.size() > limits_.max_header) {
    why_ = Why::TrailersTooLarge;
    ec = beast::http::error::header_limit;
  }
  return used;
}

bool RequestParser::chunk_size_over_limit(std::string_view line) const {
  if (line.substr(0, 2) == "\r\n") line.remove_prefix(2);  // the end of the previous chunk's data
  std::uint64_t size = 0;
  std::size_t digits = 0;
  for (char c : line) {
    const int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (v < 0) break;
    if (++digits > 16) return false;  // overflow: Beast's bad chunk, a 400 either way
    size = size * 16 + static_cast<std::uint64_t>(v);
  }
  return digits > 0 && size > limits_.max_body - std::min<std::uint64_t>(limits_.max_body, body_received_);
}

ParseRefusal RequestParser::refusal(const beast::error_code& ec) const {
  switch (why_) {
    case Why::TargetTooLong: return {414, "uri_too_long", "the request target is too long"};
    case Why::TransferCoding:
      return {400, "bad_request", "unsupported Transfer-Encoding: only a single \"chunked\" is accepted (RFC 9112 6.3)"};
    case Why::ChunkLineTooLong:
      return {400, "bad_request", "a chunk-size line is over " + std::to_string(limits_.max_chunk_line) + " bytes"};
    case Why::TrailersTooLarge: return {431, "headers_too_large", "the chunked body's trailers are too large"};
    case Why::TwoAuthorizations:
      return {400, "bad_request", "more than one Authorization header: which one counts is ambiguous"};
    case Why::TwoHosts: return {400, "bad_request", "more than one Host header (RFC 9112 3.2)"};
    case Why::TwoOrigins: return {400, "bad_request", "more than one Origin header (RFC 6454 7.3)"};
    case Why::NoTargetHost: return {400, "bad_request", "an absolute-form target without a host (RFC 9110 4.2.1)"};
    case Why::None: break;
  }
  if (ec == beast::http::error::header_limit) return {431, "headers_too_large", "the request header is too large"};
  if (ec == beast::http::error::body_limit) return {413, "payload_too_large", "the request body is too large"};
  return {400, "bad_request", "malformed HTTP request: " + ec.message()};
}

void RequestParser::on_request_impl(beast::http::verb method, beast::string_view, beast::string_view target,
                                    int version, beast::error_code& ec) {
  if (target.size() > limits_.max_target) {
    why_ = Why::TargetTooLong;
    ec = beast::http::error::bad_target;
    return;
  }
  request_.method = method;
  request_.version = version;
  request_.target.assign(target.data(), target.size());
}

void RequestParser::on_field_impl(beast::http::field name, beast::string_view name_text, beast::string_view value,
                                  beast::error_code& ec) {
  if (is_header_done()) {
    // Trailers never change how the request is read or authorised. Their
    // limit: feed() bounds what waits unparsed; whole trailers that came in
    // one read are counted here (20 KB of them passed a 16 KiB limit).
    trailer_bytes_ += name_text.size() + 2 + value.size() + 2;
    if (trailer_bytes_ > limits_.max_header) {
      why_ = Why::TrailersTooLarge;
      ec = beast::http::error::header_limit;
    }
    return;
  }
  if (name == beast::http::field::authorization) {
    ++authorizations_;
    request_.authorization.assign(value.data(), value.size());
  } else if (name == beast::http::field::host) {
    ++hosts_;
    request_.host.assign(value.data(), value.size());
  } else if (name == beast::http::field::origin) {
    ++origins_;
    request_.origin.assign(value.data(), value.size());
  } else if (name == beast::http::field::if_none_match) {
    // Several fields are one list (RFC 9110 5.3).
    if (!request_.if_none_match.empty()) request_.if_none_match += ',';
    request_.if_none_match.append(value.data(), value.size());
  } else if (name == beast::http::field::expect) {
    // RFC 9110 10.1.1: the only expectation defined; HTTP/1.0 clients cannot use it.
    if (request_.version >= 11 && beast::iequals(value, "100-continue")) request_.expect_continue = true;
  } else if (name == beast::http::field::transfer_encoding) {
    ++transfer_encodings_;
    if (!beast::iequals(value, "chunked")) only_chunked_ = false;
  }
}

void RequestParser::on_header_impl(beast::error_code& ec) {
  // RFC 9112 6.1/6.3: a coding other than one final "chunked" (which is all we
  // decode), or Transfer-Encoding in HTTP/1.0, leaves the framing unknown: the
  // body could be read as the next request (smuggling), so refuse and close.
  // Beast itself refuses Transfer-Encoding: chunked together with Content-Length.
  if (transfer_encodings_ > 0 && (transfer_encodings_ > 1 || !only_chunked_ || request_.version < 11)) {
    why_ = Why::TransferCoding;
    ec = beast::http::error::bad_transfer_encoding;
    return;
  }
  if (authorizations_ > 1) {
    why_ = Why::TwoAuthorizations;
    ec = beast::http::error::bad_field;
    return;
  }
  // RFC 9112 3.2: a server MUST refuse more than one Host (the Origin check
  // compares with it). A missing Host in HTTP/1.1 is answered: hand-typed
  // requests and old health checks omit it, and no route depends on it.
  if (hosts_ > 1) {
    why_ = Why::TwoHosts;
    ec = beast::http::error::bad_field;
    return;
  }
  // RFC 6454 7.3: a user agent sends at most one Origin. Two are not a
  // browser's; refused rather than letting one of them decide the check.
  if (origins_ > 1) {
    why_ = Why::TwoOrigins;
    ec = beast::http::error::bad_field;
    return;
  }
  // RFC 9112 3.2.2: with an absolute-form target the server uses its
  // authority and ignores Host: the loopback name check and the Origin
  // comparison then see the name the request was sent to.
  // "http:///" names no host: RFC 9110 4.2.1 says to reject it, and an empty
  // host would pass the name check as a request without Host does.
  if (auto authority = target_authority(request_.target)) {
    if (authority->empty() || authority->front() == ':') {  // "http://:8080/" names a port only
      why_ = Why::NoTargetHost;
      ec = beast::http::error::bad_target;
      return;
    }
    request_.host.assign(authority->data(), authority->size());
  }
  request_.keep_alive = keep_alive();
  request_.authorized = bearer_authorized(request_.authorization, token_);
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length, beast::error_code&) {
  // Memory for a body only once the token is known good.
  if (content_length && request_.authorized) request_.body.reserve(static_cast<std::size_t>(*content_length));
}

std::size_t RequestParser::on_body_impl(beast::string_view body, beast::error_code&) {
  body_received_ += body.size();
  if (request_.authorized) request_.body.append(body.data(), body.size());
  return body.size();
}

void RequestParser::on_chunk_header_impl(std::uint64_t size, beast::string_view extensions, beast::error_code& ec) {
  // A whole chunk-size line that came in one read: feed() sees only one left
  // waiting (an 8 KB line passed the 4 KiB limit when sent at once).
  std::size_t digits = 1;
  for (std::uint64_t rest = size >> 4; rest != 0; rest >>= 4) ++digits;
  if (digits + extensions.size() > limits_.max_chunk_line) {
    why_ = Why::ChunkLineTooLong;
    ec = beast::http::error::bad_chunk;
  }
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code&) {
  body_received_ += body.size();
  if (request_.authorized) request_.body.append(body.data(), body.size());
  return body.size();
}

void RequestParser::on_finish_impl(beast::error_code&) { request_.keep_alive = keep_alive(); }

}  // namespace recsys::http
