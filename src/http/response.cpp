#include "http/response.hpp"

#include <charconv>
#include <ctime>

#include "util/json.hpp"

namespace recsys::http {

const char* reason_phrase(unsigned status) {
  switch (status) {
    case 200: return "OK";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Entity";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

void set_error(Response& response, unsigned status, std::string_view code, std::string_view message) {
  response.status = status;
  response.content_type = "application/json";
  response.body.assign("{\"error\":{\"code\":");
  json::append_string(response.body, code);
  response.body += ",\"message\":";
  json::append_string(response.body, message);
  response.body += "}}";
}

void serialize(const Response& response, bool keep_alive, int version, std::string_view date, bool head,
               std::string& out) {
  char number[24];
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  auto r = std::to_chars(number, number + sizeof number, response.status);
  out.append(number, r.ptr);
  out.push_back(' ');
  out += reason_phrase(response.status);
  out += "\r\nServer: recsys\r\nDate: ";
  out += date;
  // 304 has no content, and RFC 9110 15.4.5 leaves out its representation's
  // metadata (its Content-Length would have to be the 200's).
  const bool not_modified = response.status == 304;
  if (!not_modified) {
    out += "\r\nContent-Type: ";
    out += response.content_type;
    out += "\r\nContent-Length: ";
    r = std::to_chars(number, number + sizeof number, response.body.size());
    out.append(number, r.ptr);
  }
  out += "\r\n";
  out += response.extra_headers;
  if (!keep_alive) {
    out += "Connection: close\r\n";
  } else if (version == 10) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  if (!head && !not_modified) out += response.body;
}

std::string http_date() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

}  // namespace recsys::http
