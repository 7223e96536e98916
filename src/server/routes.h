#pragma once

// The server's routes on an HttpServer, each wrapped with the API key check, CORS and request metrics.

#include <memory>

#include "server/http_server.h"
#include "server/server_state.h"

namespace torchllm::server {

// An HttpServer with every route registered; its errors answer in OpenAI's JSON shape.
std::unique_ptr<HttpServer> make_http_server(ServerState& state);

}  // namespace torchllm::server
