// GET /ui/…: the dashboard's page shell and its scripts, styles and icon from
// the assets compiled into the binary (ui/assets.hpp, docs/dashboard.md).
#pragma once

#include <string>
#include <string_view>

#include "http/response.hpp"

namespace recsys::http {

// `path` starts with "/ui". Pages (/ui/, /ui/live, /ui/users/{user},
// /ui/items/{item}) get the shell, which draws them from the JSON API; files
// get their bytes; anything else is 404. `headers` is storage for the response's
// extra header lines (the response refers to it).
void serve_ui(std::string_view path, std::string_view query, std::string_view if_none_match, Response& r,
              std::string& headers);

}  // namespace recsys::http
