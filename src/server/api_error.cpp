#include "server/api_error.h"

#include "server/http_socket.h"

namespace torchllm::server {

ApiError::ApiError(int status, const std::string& message, std::string type, std::optional<std::string> param,
                   std::optional<std::string> code)
    : std::runtime_error(message),
      message_(message),
      status_(status),
      type_(std::move(type)),
      param_(std::move(param)),
      code_(std::move(code)) {}

nlohmann::json ApiError::to_json() const {
  nlohmann::json error = {{"message", message_}, {"type", type_}, {"param", nullptr}, {"code", nullptr}};
  if (param_) error["param"] = *param_;
  if (code_) error["code"] = *code_;
  return {{"error", std::move(error)}};
}

ApiError ApiError::bad_request(const std::string& message, std::optional<std::string> param,
                               std::optional<std::string> code) {
  return ApiError(400, message, "invalid_request_error", std::move(param), std::move(code));
}

ApiError ApiError::unsupported_field(const std::string& param, const std::string& why) {
  return ApiError(400, "'" + param + "' is not supported by this server" + (why.empty() ? "" : ": " + why),
                  "invalid_request_error", param, "unsupported_parameter");
}

ApiError ApiError::model_not_found(const std::string& model) {
  return ApiError(404, "The model `" + model + "` does not exist.", "invalid_request_error", "model",
                  "model_not_found");
}

ApiError ApiError::unavailable(const std::string& message) {
  return ApiError(503, message, "server_error", std::nullopt, "service_unavailable");
}

ApiError ApiError::internal(const std::string& message) {
  return ApiError(500, message, "server_error", std::nullopt, "internal_error");
}

ApiError ApiError::from(const Error& error, std::optional<std::string> param) {
  switch (error.kind()) {
    case Error::Kind::kInvalidArgument:
    case Error::Kind::kUnsupported:
    case Error::Kind::kCorruptInput:
      return bad_request(error.what(), std::move(param));
    case Error::Kind::kNotFound:
      return ApiError(404, error.what(), "invalid_request_error", std::move(param), "not_found");
    case Error::Kind::kResourceExhausted:
      return unavailable(error.what());
    case Error::Kind::kInternal:
      break;
  }
  return internal(error.what());
}

const char* status_text(int status) {
  const char* phrase = reason_phrase(status);
  return *phrase ? phrase : "Error";
}

}  // namespace torchllm::server
