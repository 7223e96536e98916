#include "server/request_json.h"

#include "server/api_error.h"

namespace torchllm::server {

nlohmann::json parse_request_json(const std::string& body) {
  using json = nlohmann::json;
  // nlohmann's parser itself keeps its own stack; the callback sees each array or object as it opens, before
  // anything recursive runs.
  const json::parser_callback_t bounded = [](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= kMaxJsonDepth) {
      throw ApiError::bad_request("the JSON body nests arrays and objects deeper than " +
                                  std::to_string(kMaxJsonDepth) + " levels");
    }
    return true;
  };
  json value;
  try {
    value = json::parse(body, bounded);
  } catch (const json::exception& e) {
    throw ApiError::bad_request(std::string("could not parse the JSON body of the request: ") + e.what());
  }
  if (!value.is_object()) throw ApiError::bad_request("the request body must be a JSON object");
  return value;
}

}  // namespace torchllm::server
