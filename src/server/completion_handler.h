#pragma once

// POST /v1/chat/completions and POST /v1/completions: parse, encode, submit one generation per choice to the
// engine loop, then answer with one JSON body or stream chunks as the engine delivers them.

#include "server/http_server.h"
#include "server/openai_wire.h"
#include "server/server_state.h"

namespace torchllm::server {

// Throws ApiError for what is wrong with the request (before anything is submitted).
HttpResponse handle_completion(ServerState& state, const HttpRequest& request, Endpoint endpoint);

}  // namespace torchllm::server
