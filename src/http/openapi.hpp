// The OpenAPI 3.1 document of the HTTP API (docs/openapi.json), compiled into
// the binary by embed_openapi.py and served at GET /v1/openapi.json.
#pragma once

#include <string_view>

namespace recsys::http {

std::string_view openapi_document();

}  // namespace recsys::http
