#include "server/sse.h"

namespace torchllm::server {

// dump() escapes every control character, so an event is always one line.
std::string sse_data(const nlohmann::json& event) {
  return "data: " + event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

std::string sse_done() { return "data: [DONE]\n\n"; }

std::string sse_comment(std::string_view text) { return ": " + std::string(text) + "\n\n"; }

}  // namespace torchllm::server
