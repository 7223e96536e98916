#pragma once

// The chat page's files (src/server/webui/ and the browser libraries of its package-lock.json), copied into
// the binary at build time by src/server/webui/embed_assets.cmake. The page is "/"; every other file is named
// by its content hash (/assets/<hash>/<name>), so that it never changes under its URL.

#include <cstddef>
#include <string_view>

namespace torchllm::server {

struct WebAsset {
  std::string_view path;          // the URL path ("/" for the page)
  std::string_view content_type;  // with charset for text
  std::string_view etag;          // quoted, from the content's SHA-256
  std::string_view body;
};

// The asset served at `path`, or null.
const WebAsset* find_web_asset(std::string_view path);

// False when the binary was configured with -DTORCHLLM_WEBUI=OFF (no page to serve).
bool web_assets_embedded();

}  // namespace torchllm::server
