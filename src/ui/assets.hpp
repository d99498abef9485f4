// The dashboard's files (src/ui/*.html, .css, .js, .svg), compiled into the
// binary by embed.py so `recsys serve` needs nothing on disk and fetches
// nothing from the network (docs/dashboard.md). No dependencies: the http layer
// serves them, the eval layer inlines them into `train --report` files.
#pragma once

#include <span>
#include <string_view>

namespace recsys::ui {

struct Asset {
  std::string_view name;          // file name, e.g. "app.js" (served as /ui/app.js)
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;
  std::string_view etag;          // quoted hash of the body
};

std::span<const Asset> all_assets();
// A hash of all assets; the HTML refers to its scripts as NAME?v=VERSION.
std::string_view assets_version();
// The asset called `name`, or nullptr.
const Asset* find_asset(std::string_view name);
// The body of an asset that must exist (throws std::logic_error otherwise).
std::string_view asset_body(std::string_view name);

}  // namespace recsys::ui
