// Responses: status, headers and body written straight into the connection's
// output buffer, so a pipelined batch of responses goes out in one write.
#pragma once

#include <string>
#include <string_view>

namespace recsys::http {

struct Response {
  unsigned status = 200;
  std::string_view content_type = "application/json";
  std::string_view extra_headers;  // complete lines, e.g. "Allow: GET\r\n"
  std::string body;                // reused between requests

  void clear() {
    status = 200;
    content_type = "application/json";
    extra_headers = {};
    body.clear();
  }
};

const char* reason_phrase(unsigned status);

// {"error":{"code":"not_found","message":"..."}} with `status`.
void set_error(Response& response, unsigned status, std::string_view code, std::string_view message);

// Appends the serialized response. `date` is the preformatted Date value.
// `keep_alive` false adds "Connection: close"; HTTP/1.0 keep-alive is announced.
void serialize(const Response& response, bool keep_alive, int version, std::string_view date, bool head,
               std::string& out);

// An RFC 7231 IMF-fixdate for the current second.
std::string http_date();

}  // namespace recsys::http
