#pragma once

// Server-sent events as OpenAI streams them: "data: {json}\n\n" per event, "data: [DONE]\n\n" last, and
// comment lines (": ...\n\n") that keep a connection alive while a request waits.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace torchllm::server {

std::string sse_data(const nlohmann::json& event);
std::string sse_done();
// `text` must not contain a line break (it would end the comment).
std::string sse_comment(std::string_view text);

}  // namespace torchllm::server
