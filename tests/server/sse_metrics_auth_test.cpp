#include <gtest/gtest.h>

#include <regex>

#include "server/api_error.h"
#include "server/auth.h"
#include "server/metrics.h"
#include "server/sse.h"

namespace torchllm::server {
namespace {

TEST(Sse, DataEventIsOneLineEndedByABlankLine) {
  const std::string event = sse_data({{"text", "line one\nline two\r\n"}, {"n", 1}});
  EXPECT_EQ(event.rfind("data: {", 0), 0u);
  ASSERT_GE(event.size(), 2u);
  EXPECT_EQ(event.substr(event.size() - 2), "\n\n");
  EXPECT_EQ(event.find('\n'), event.size() - 2) << "newlines inside the JSON must be escaped";
  EXPECT_EQ(nlohmann::json::parse(event.substr(6)).at("text"), "line one\nline two\r\n");
}

TEST(Sse, DoneAndComment) {
  EXPECT_EQ(sse_done(), "data: [DONE]\n\n");
  EXPECT_EQ(sse_comment("keep-alive"), ": keep-alive\n\n");
}

TEST(Sse, InvalidUtf8IsReplacedNotThrown) {
  const std::string event = sse_data({{"text", std::string("a\xff"
                                                           "b")}});
  EXPECT_NE(event.find("a\xEF\xBF\xBD"
                       "b"),
            std::string::npos);
}

TEST(Auth, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("secret-key", "secret-key"));
  EXPECT_FALSE(constant_time_equal("secret-key", "secret-kez"));
  EXPECT_FALSE(constant_time_equal("secret-key", "secret-key2"));
  EXPECT_FALSE(constant_time_equal("secret", ""));
  EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
  // A prefix padded with NULs must not compare equal to the longer key.
  EXPECT_FALSE(constant_time_equal(std::string("ab\0", 3), "ab"));
}

TEST(Auth, BearerHeader) {
  EXPECT_TRUE(authorized("", ""));
  EXPECT_TRUE(authorized("anything", ""));
  EXPECT_TRUE(authorized("Bearer k1", "k1"));
  EXPECT_TRUE(authorized("bearer k1", "k1"));
  EXPECT_TRUE(authorized("Bearer   k1  ", "k1"));
  EXPECT_FALSE(authorized("Bearer k2", "k1"));
  EXPECT_FALSE(authorized("k1", "k1"));
  EXPECT_FALSE(authorized("Basic k1", "k1"));
  EXPECT_FALSE(authorized("", "k1"));
  EXPECT_FALSE(authorized("Bearer ", "k1"));
}

TEST(ApiErrorShape, HasTheFourFields) {
  const nlohmann::json body = ApiError::bad_request("bad top_p", "top_p").to_json();
  ASSERT_TRUE(body.contains("error"));
  const nlohmann::json& e = body["error"];
  EXPECT_EQ(e["message"], "bad top_p");
  EXPECT_EQ(e["type"], "invalid_request_error");
  EXPECT_EQ(e["param"], "top_p");
  EXPECT_TRUE(e.contains("code"));
  EXPECT_TRUE(ApiError::internal("x").to_json()["error"]["param"].is_null());
}

TEST(ApiErrorShape, StatusPerErrorKind) {
  EXPECT_EQ(ApiError::from(Error::invalid_argument("x")).status(), 400);
  EXPECT_EQ(ApiError::from(Error::unsupported("x")).status(), 400);
  EXPECT_EQ(ApiError::from(Error::not_found("x")).status(), 404);
  EXPECT_EQ(ApiError::from(Error::exhausted("queue is full")).status(), 503);
  EXPECT_EQ(ApiError::from(Error::internal("x")).status(), 500);
  EXPECT_EQ(ApiError::model_not_found("gpt-9").status(), 404);
  EXPECT_EQ(ApiError::model_not_found("gpt-9").to_json()["error"]["code"], "model_not_found");
}

TEST(Metrics, PrometheusText) {
  Metrics metrics;
  metrics.count_request("chat", 200);
  metrics.count_request("chat", 200);
  metrics.count_request("completions", 400);
  metrics.count_tokens(12, 5);
  metrics.count_finish("length");
  metrics.observe_time_to_first_token(0.03);
  metrics.observe_time_to_first_token(100);
  metrics.observe_time_per_output_token(0.02);
  EngineGauges gauges;
  gauges.ready = true;
  gauges.waiting = 3;
  gauges.running = 2;
  gauges.slots = 4;
  gauges.kv_block_size = 16;
  gauges.kv_blocks_total = 100;
  gauges.kv_blocks_used = 25;
  gauges.kv_blocks_cached = 7;
  gauges.prompt_tokens_admitted = 300;
  gauges.prefix_hit_tokens = 128;
  gauges.prompt_tokens_computed = 172;
  gauges.preemptions = 1;
  const std::string text = metrics.render(gauges);
  EXPECT_NE(text.find("torchllm_kv_block_size 16\n"), std::string::npos);
  EXPECT_NE(text.find("torchllm_kv_blocks_total 100\n"), std::string::npos);
  EXPECT_NE(text.find("torchllm_kv_blocks_used 25\n"), std::string::npos);
  EXPECT_NE(text.find("torchllm_kv_blocks_cached 7\n"), std::string::npos);
  EXPECT_NE(text.find("torchllm_kv_cache_usage_ratio 0.25\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE torchllm_prefix_cache_hit_tokens_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("torchllm_prompt_tokens_admitted_total 300\n"), std::string::npos);
  EXPECT_NE(text.find("torchllm_prefix_cache_hit_tokens_total 128\n"), std::string::npos);
  EXPECT_NE(text.find("torchllm_prompt_tokens_computed_total 172\n"), std::string::npos);
  EXPECT_NE(text.find("torchllm_preemptions_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("torchllm_requests_total{endpoint=\"chat\",status=\"200\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("torchllm_requests_total{endpoint=\"completions\",status=\"400\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("torchllm_prompt_tokens_total 12\n"), std::string::npos);
  EXPECT_NE(text.find("torchllm_generation_tokens_total 5\n"), std::string::npos);
  EXPECT_NE(text.find("torchllm_requests_waiting 3\n"), std::string::npos);
  EXPECT_NE(text.find("torchllm_requests_running 2\n"), std::string::npos);
  EXPECT_NE(text.find("torchllm_generations_finished_total{reason=\"length\"} 1\n"), std::string::npos);
  // Cumulative buckets: 0.03 falls in le=0.05 and above, 100 only in +Inf.
  EXPECT_NE(text.find("torchllm_time_to_first_token_seconds_bucket{le=\"0.025\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("torchllm_time_to_first_token_seconds_bucket{le=\"0.05\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("torchllm_time_to_first_token_seconds_bucket{le=\"60\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("torchllm_time_to_first_token_seconds_bucket{le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("torchllm_time_to_first_token_seconds_count 2\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE torchllm_time_per_output_token_seconds histogram\n"), std::string::npos);

  // Every line is a comment or `name{labels} value`.
  const std::regex sample(R"(^[a-z_]+(\{[a-z]+="[^"]*"(,[a-z]+="[^"]*")*\})? [-+0-9.eInf]+$)");
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    ASSERT_NE(end, std::string::npos) << "the text ends with a newline";
    const std::string line = text.substr(start, end - start);
    if (line.rfind("# ", 0) != 0) {
      EXPECT_TRUE(std::regex_match(line, sample)) << line;
    }
    start = end + 1;
  }
}

}  // namespace
}  // namespace torchllm::server
