#pragma once

// One line per answered request on stderr, as text or as a JSON object: time, request id, client, method,
// path, status, prompt and completion tokens, duration.

#include <string>

#include "server/http_server.h"

namespace torchllm::server {

enum class AccessLogFormat { kText, kJson };

// "text" or "json"; throws Error(invalid argument) otherwise.
AccessLogFormat parse_access_log_format(const std::string& name);

// The line, without its newline. Whatever the client sent (path, id) is escaped so that one request is one
// line and a terminal sees no control characters.
std::string access_log_line(AccessLogFormat format, const HttpRequest& request, int status, double seconds);

}  // namespace torchllm::server
