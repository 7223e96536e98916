#include "server/access_log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "torchllm/error.h"

namespace torchllm::server {
namespace {

// 2026-12-02T14:05:09.123Z
std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[64];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return text;
}

// Printable ASCII stays; anything else becomes \xNN.
std::string escaped(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x21 && c < 0x7f && c != '\\' && c != '"') {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    }
  }
  return out.empty() ? "-" : out;
}

}  // namespace

AccessLogFormat parse_access_log_format(const std::string& name) {
  if (name == "text") return AccessLogFormat::kText;
  if (name == "json") return AccessLogFormat::kJson;
  throw Error::invalid_argument("--log-format must be 'text' or 'json', not '" + name + "'");
}

std::string access_log_line(AccessLogFormat format, const HttpRequest& request, int status, double seconds) {
  const int64_t prompt = request.notes->prompt_tokens.load();
  const int64_t completion = request.notes->completion_tokens.load();
  if (format == AccessLogFormat::kJson) {
    nlohmann::json line = {{"time", utc_now()},        {"request_id", request.id}, {"client", request.peer},
                           {"method", request.method}, {"path", request.path},     {"status", status},
                           {"duration_s", seconds}};
    line["prompt_tokens"] = prompt >= 0 ? nlohmann::json(prompt) : nlohmann::json(nullptr);
    line["completion_tokens"] = completion >= 0 ? nlohmann::json(completion) : nlohmann::json(nullptr);
    return line.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  }
  char duration[32];
  std::snprintf(duration, sizeof(duration), "%.3fs", seconds);
  return utc_now() + " " + escaped(request.id) + " " + escaped(request.peer) + " " + escaped(request.method) +
         " " + escaped(request.path) + " " + std::to_string(status) +
         " prompt=" + (prompt >= 0 ? std::to_string(prompt) : "-") +
         " completion=" + (completion >= 0 ? std::to_string(completion) : "-") + " " + duration;
}

}  // namespace torchllm::server
