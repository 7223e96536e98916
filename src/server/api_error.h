#pragma once

// An error as the OpenAI API reports it: an HTTP status and {"error": {"message", "type", "param", "code"}}.

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "torchllm/error.h"

namespace torchllm::server {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message, std::string type, std::optional<std::string> param = {},
           std::optional<std::string> code = {});

  int status() const { return status_; }
  // The whole message (what() stops at a NUL byte, which a client-sent id may hold).
  const std::string& message() const { return message_; }
  const std::string& type() const { return type_; }
  const std::optional<std::string>& param() const { return param_; }
  const std::optional<std::string>& code() const { return code_; }

  // {"error": {...}}, the body of an error response and of a stream's error event.
  nlohmann::json to_json() const;

  // 400 invalid_request_error naming the offending field.
  static ApiError bad_request(const std::string& message, std::optional<std::string> param = {},
                              std::optional<std::string> code = {});
  // 400 for a field this server does not implement.
  static ApiError unsupported_field(const std::string& param, const std::string& why = "");
  static ApiError model_not_found(const std::string& model);
  static ApiError unavailable(const std::string& message);
  static ApiError internal(const std::string& message);
  // The status a client expects for each kind: invalid argument / unsupported / corrupt input 400, not found
  // 404, resource exhausted 503, internal 500.
  static ApiError from(const Error& error, std::optional<std::string> param = {});

 private:
  std::string message_;
  int status_;
  std::string type_;
  std::optional<std::string> param_;
  std::optional<std::string> code_;
};

// The reason phrase of a status, for error messages ("Not Found").
const char* status_text(int status);

}  // namespace torchllm::server
