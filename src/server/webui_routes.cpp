#include "server/webui_routes.h"

#include <string>

#include "server/api_error.h"
#include "server/webui_assets.h"

namespace torchllm::server {

const char* const kWebContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// If-None-Match holds "*" or a comma-separated list of entity tags, weak ones prefixed W/ (RFC 9110 13.1.2:
// compared weakly).
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    const size_t comma = if_none_match.find(',');
    std::string_view tag = trim(if_none_match.substr(0, comma));
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

HttpResponse web_asset_response(std::string_view path, std::string_view if_none_match) {
  if (!web_assets_embedded()) {
    throw ApiError(404, "this torchllm was built without the web UI (-DTORCHLLM_WEBUI=OFF)",
                   "invalid_request_error", std::nullopt, "not_found");
  }
  const WebAsset* asset = find_web_asset(path);
  if (!asset) {
    throw ApiError(404, "no web UI file " + std::string(path), "invalid_request_error", std::nullopt,
                   "not_found");
  }
  HttpResponse response;
  response.headers = {
      {"ETag", std::string(asset->etag)},
      // The page is revalidated on every load (a new binary may serve a new one); the files it names carry
      // their content hash in the URL and never change.
      {"Cache-Control", path == "/" ? "no-cache" : "public, max-age=31536000, immutable"},
      {"Content-Security-Policy", kWebContentSecurityPolicy},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"X-Frame-Options", "DENY"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
  };
  if (etag_matches(if_none_match, asset->etag)) {
    response.status = 304;
    return response;
  }
  response.content_type = std::string(asset->content_type);
  response.body = std::string(asset->body);
  return response;
}

}  // namespace torchllm::server
