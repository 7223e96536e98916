// The access log line: fields, escaping of what the client sent, JSON form.
#include "server/access_log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace torchllm::server {
namespace {

TEST(AccessLog, TextLineEscapesWhatTheClientSent) {
  HttpRequest request;
  request.method = "GET";
  request.path = std::string("/v1/models/a\0b\nc d", 18);
  request.id = "r1";
  request.peer = "127.0.0.1";
  request.notes->prompt_tokens = 12;
  const std::string line = access_log_line(AccessLogFormat::kText, request, 404, 0.25);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\0'), std::string::npos);
  EXPECT_NE(line.find(" r1 127.0.0.1 GET /v1/models/a\\x00b\\x0ac\\x20d 404 prompt=12 completion=- 0.250s"),
            std::string::npos)
      << line;
}

TEST(AccessLog, JsonLine) {
  HttpRequest request;
  request.method = "POST";
  request.path = "/v1/chat/completions";
  request.id = "r2";
  request.notes->prompt_tokens = 3;
  request.notes->completion_tokens = 7;
  const auto line = nlohmann::json::parse(access_log_line(AccessLogFormat::kJson, request, 200, 1.5));
  EXPECT_EQ(line["request_id"], "r2");
  EXPECT_EQ(line["status"], 200);
  EXPECT_EQ(line["prompt_tokens"], 3);
  EXPECT_EQ(line["completion_tokens"], 7);
  EXPECT_EQ(line["path"], "/v1/chat/completions");
  EXPECT_TRUE(line.contains("time"));
  EXPECT_THROW(parse_access_log_format("xml"), std::exception);
}

}  // namespace
}  // namespace torchllm::server
