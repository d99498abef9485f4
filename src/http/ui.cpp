#include "http/ui.hpp"

#include "http/url.hpp"
#include "ui/assets.hpp"

namespace recsys::http {

namespace {

// Scripts, styles and data only from this server; the pages never embed
// inline scripts or styles, so nothing injected through an id or a title runs.
constexpr std::string_view kSecurityHeaders =
    "Content-Security-Policy: default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n";

// A page: one path segment after /ui/users/ or /ui/items/ (percent-encoded id).
bool is_page(std::string_view path) {
  if (path == "/ui" || path == "/ui/" || path == "/ui/index.html" || path == "/ui/live") return true;
  for (std::string_view prefix : {std::string_view("/ui/users/"), std::string_view("/ui/items/")}) {
    if (path.substr(0, prefix.size()) != prefix) continue;
    std::string_view id = path.substr(prefix.size());
    return !id.empty() && id.find('/') == std::string_view::npos;
  }
  return false;
}

// If-None-Match (RFC 9110 13.1.2): "*", or a list of entity tags compared
// weakly (a W/ prefix ignored).
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    const auto comma = if_none_match.find(',');
    std::string_view tag = if_none_match.substr(0, comma);
    if_none_match.remove_prefix(comma == std::string_view::npos ? if_none_match.size() : comma + 1);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag == "*") return true;
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

}  // namespace

void serve_ui(std::string_view path, std::string_view query, std::string_view if_none_match, Response& r,
              std::string& headers) {
  const ui::Asset* asset = nullptr;
  bool page = is_page(path);
  if (page) {
    asset = ui::find_asset("index.html");
  } else if (path.substr(0, 4) == "/ui/" && path.substr(4) != "index.html") {
    asset = ui::find_asset(path.substr(4));
  }
  if (!asset) {
    set_error(r, 404, "not_found", "no such dashboard page: see /ui/, /ui/live, /ui/users/{user}, /ui/items/{item}");
    return;
  }
  // The shell is revalidated on every load; it names the other files with the
  // build's asset version (?v=…), and those URLs never change content.
  auto v = query_param(query, "v");
  bool versioned = !page && v && *v == ui::assets_version();
  headers.assign(versioned ? "Cache-Control: public, max-age=31536000, immutable\r\n" : "Cache-Control: no-cache\r\n");
  headers += "ETag: ";
  headers += asset->etag;
  headers += "\r\n";
  headers += kSecurityHeaders;
  r.extra_headers = headers;
  // A browser revalidating the shell (no-cache) with the ETag it holds gets
  // 304 and no body: the same binary serves the same bytes.
  if (!if_none_match.empty() && etag_matches(if_none_match, asset->etag)) {
    r.status = 304;
    r.body.clear();
    return;
  }
  r.status = 200;
  r.content_type = asset->content_type;
  r.body.assign(asset->body);
}

}  // namespace recsys::http
