#pragma once

// Parsing a request body as JSON with its nesting bounded: every later walk over the value (copies, dump(),
// the chat template's values) recurses, and 100,000 nested '[' would overflow the stack.

#include <nlohmann/json.hpp>
#include <string>

namespace torchllm::server {

constexpr int kMaxJsonDepth = 64;

// The body as a JSON object. Throws ApiError(400) when it is not JSON, not an object, or nests deeper than
// kMaxJsonDepth arrays and objects.
nlohmann::json parse_request_json(const std::string& body);

}  // namespace torchllm::server
