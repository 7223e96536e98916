#pragma once

// The chat page's responses: GET / and GET /assets/<hash>/<name> from the assets embedded in the binary, with
// their content type, a strict Content-Security-Policy and caching headers.

#include <string_view>

#include "server/http_server.h"

namespace torchllm::server {

// The page only talks to the server it came from, runs only its own scripts, and loads nothing from
// elsewhere.
extern const char* const kWebContentSecurityPolicy;

// The response to GET `path` for a client that sent `if_none_match` (the header's value, or ""): 200 with the
// asset, or 304 when the client holds it already. Throws ApiError(404) when there is no such asset.
HttpResponse web_asset_response(std::string_view path, std::string_view if_none_match);

}  // namespace torchllm::server
