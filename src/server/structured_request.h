#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "server/openai_wire.h"

namespace torchllm::server {

// tools, tool_choice, parallel_tool_calls, response_format and grammar from a request body whose key order
// is kept (schemas' property order decides the generated JSON's), into `call`; ApiError(400) for anything
// malformed or contradictory (a named tool_choice that is not in tools, a forced tool call with a
// response_format).
void parse_structured_fields(const nlohmann::ordered_json& body, CompletionCall& call);

// Whether `key` is one of the fields parse_structured_fields reads.
bool is_structured_field(const std::string& key);

}  // namespace torchllm::server
