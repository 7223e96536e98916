#include "server/openai_wire.h"

#include <gtest/gtest.h>

#include "server/api_error.h"

namespace torchllm::server {
namespace {

using json = nlohmann::json;

json chat(json extra = json::object()) {
  json body = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  for (auto it = extra.begin(); it != extra.end(); ++it) body[it.key()] = it.value();
  return body;
}

// The ApiError a chat body is refused with.
ApiError chat_error(const json& body) {
  try {
    parse_chat_request(body);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << body.dump();
  return ApiError::internal("accepted");
}

ApiError completion_error(const json& body) {
  try {
    parse_completion_request(body);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << body.dump();
  return ApiError::internal("accepted");
}

TEST(ChatRequest, EveryImplementedField) {
  const CompletionCall call = parse_chat_request(chat({{"max_tokens", 7},
                                                       {"temperature", 0.5},
                                                       {"top_p", 0.9},
                                                       {"top_k", 40},
                                                       {"min_p", 0.05},
                                                       {"repetition_penalty", 1.1},
                                                       {"presence_penalty", 0.5},
                                                       {"frequency_penalty", -0.5},
                                                       {"logit_bias", {{"42", -100}, {"7", 3.5}}},
                                                       {"seed", 1234},
                                                       {"n", 1},
                                                       {"stop", {"a", "bc"}},
                                                       {"stream", true},
                                                       {"stream_options", {{"include_usage", true}}},
                                                       {"logprobs", true},
                                                       {"top_logprobs", 3},
                                                       {"user", "someone"}}));
  EXPECT_EQ(call.endpoint, Endpoint::kChat);
  EXPECT_EQ(call.model, "m");
  EXPECT_EQ(call.max_tokens, 7);
  EXPECT_EQ(call.sampling.temperature, 0.5);
  EXPECT_EQ(call.sampling.top_p, 0.9);
  EXPECT_EQ(call.sampling.top_k, 40);
  EXPECT_EQ(call.sampling.min_p, 0.05);
  EXPECT_EQ(call.sampling.repetition_penalty, 1.1);
  EXPECT_EQ(call.sampling.presence_penalty, 0.5);
  EXPECT_EQ(call.sampling.frequency_penalty, -0.5);
  EXPECT_EQ(call.sampling.logit_bias.at(42), -100);
  EXPECT_EQ(call.sampling.logit_bias.at(7), 3.5);
  EXPECT_EQ(call.sampling.seed, 1234u);
  EXPECT_EQ(call.stop, (std::vector<std::string>{"a", "bc"}));
  EXPECT_TRUE(call.stream);
  EXPECT_TRUE(call.include_usage);
  EXPECT_TRUE(call.logprobs);
  EXPECT_EQ(call.top_logprobs, 3);
}

TEST(ChatRequest, NullMeansNotGiven) {
  const CompletionCall call = parse_chat_request(
      chat({{"temperature", nullptr}, {"tools", nullptr}, {"stop", nullptr}, {"stream_options", nullptr}}));
  EXPECT_FALSE(call.sampling.temperature);
  EXPECT_TRUE(call.stop.empty());
}

TEST(ChatRequest, MaxCompletionTokensWins) {
  EXPECT_EQ(parse_chat_request(chat({{"max_completion_tokens", 5}, {"max_tokens", 9}})).max_tokens, 5);
  EXPECT_EQ(parse_chat_request(chat({{"max_tokens", 9}, {"max_completion_tokens", 5}})).max_tokens, 5);
  EXPECT_EQ(parse_chat_request(chat({{"max_tokens", 9}})).max_tokens, 9);
  EXPECT_FALSE(parse_chat_request(chat()).max_tokens);
}

TEST(ChatRequest, MessagesAreNormalized) {
  const CompletionCall call = parse_chat_request(
      {{"messages",
        {{{"role", "developer"}, {"content", "be brief"}},
         {{"role", "user"},
          {"content", {{{"type", "text"}, {"text", "a"}}, {{"type", "text"}, {"text", "b"}}}}},
         {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", json::array()}},
         {{"role", "tool"}, {"content", "42"}, {"tool_call_id", "call_1"}}}}});
  EXPECT_FALSE(call.model);
  ASSERT_EQ(call.messages.size(), 4u);
  EXPECT_EQ(call.messages[0]["role"], "system");
  EXPECT_EQ(call.messages[1]["content"], "a\nb");
  EXPECT_EQ(call.messages[2]["content"], "");
  EXPECT_EQ(call.messages[3]["tool_call_id"], "call_1");
}

TEST(ChatRequest, UnknownAndUnsupportedFieldsAreRefusedByName) {
  for (const char* field : {"tools", "functions", "audio", "reasoning_effort", "metadata"}) {
    const ApiError e = chat_error(chat({{field, {{"type", "json_object"}}}}));
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.param(), field);
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
  const ApiError unknown = chat_error(chat({{"frobnicate", 1}}));
  EXPECT_EQ(unknown.param(), "frobnicate");
  EXPECT_NE(std::string(unknown.what()).find("frobnicate"), std::string::npos);
  EXPECT_EQ(
      chat_error(chat({{"stream", true}, {"stream_options", {{"continuous_usage_stats", true}}}})).param(),
      "stream_options.continuous_usage_stats");
  EXPECT_EQ(chat_error(chat({{"ignore_eos", true}})).param(), "ignore_eos");
}

TEST(ChatRequest, ValuesThatAskForNothingAreAccepted) {
  EXPECT_NO_THROW(parse_chat_request(chat({{"response_format", {{"type", "text"}}},
                                           {"tools", json::array()},
                                           {"tool_choice", "none"},
                                           {"store", false}})));
}

TEST(ChatRequest, ResponseFormatAndToolsBecomeGrammarsAndTemplateTools) {
  EXPECT_FALSE(parse_chat_request(chat({{"response_format", {{"type", "text"}}}})).grammar);
  EXPECT_TRUE(parse_chat_request(chat({{"response_format", {{"type", "json_object"}}}})).grammar);
  const json schema = {{"type", "object"}, {"properties", {{"a", {{"type", "integer"}}}}}};
  EXPECT_TRUE(
      parse_chat_request(chat({{"response_format",
                                {{"type", "json_schema"},
                                 {"json_schema", {{"name", "x"}, {"schema", schema}, {"strict", true}}}}}}))
          .grammar);
  const ApiError unsupported = chat_error(
      chat({{"response_format",
             {{"type", "json_schema"},
              {"json_schema", {{"name", "x"}, {"schema", {{"type", "integer"}, {"minimum", 3}}}}}}}}));
  EXPECT_EQ(unsupported.param(), "response_format.json_schema.schema");
  EXPECT_NE(std::string(unsupported.what()).find("minimum"), std::string::npos) << unsupported.what();
  EXPECT_EQ(chat_error(
                chat({{"response_format", {{"type", "json_schema"}, {"json_schema", {{"schema", schema}}}}}}))
                .param(),
            "response_format.json_schema.name");
  EXPECT_EQ(chat_error(chat({{"grammar", "root ::= foo"}})).param(), "grammar");

  const json tools =
      json::array({{{"type", "function"}, {"function", {{"name", "get_weather"}, {"parameters", schema}}}}});
  const CompletionCall call = parse_chat_request(
      chat({{"tools", tools}, {"tool_choice", "required"}, {"parallel_tool_calls", false}}));
  EXPECT_EQ(call.tools.size(), 1u);
  EXPECT_EQ(call.tool_choice, CompletionCall::ToolChoice::kRequired);
  EXPECT_FALSE(call.parallel_tool_calls);
  const CompletionCall named = parse_chat_request(chat(
      {{"tools", tools}, {"tool_choice", {{"type", "function"}, {"function", {{"name", "get_weather"}}}}}}));
  EXPECT_EQ(named.tool_choice_name, "get_weather");
  EXPECT_EQ(chat_error(chat({{"tools", tools},
                             {"tool_choice", {{"type", "function"}, {"function", {{"name", "nope"}}}}}}))
                .param(),
            "tool_choice");
  EXPECT_EQ(chat_error(chat({{"tool_choice", "required"}})).param(), "tool_choice");
  EXPECT_EQ(chat_error(chat({{"tools", json::array({{{"type", "code_interpreter"}}})}})).param(),
            "tools[0].type");
  EXPECT_EQ(
      chat_error(chat({{"tools", json::array({{{"type", "function"}, {"function", {{"name", "a b"}}}}})}}))
          .param(),
      "tools[0].function.name");
  EXPECT_EQ(chat_error(chat({{"tools", tools},
                             {"tool_choice", "required"},
                             {"response_format", {{"type", "json_object"}}}}))
                .param(),
            "response_format");
  // Earlier calls reach the template with their arguments as objects.
  const CompletionCall history = parse_chat_request(chat(
      {{"messages",
        json::array({{{"role", "user"}, {"content", "hi"}},
                     {{"role", "assistant"},
                      {"content", nullptr},
                      {"tool_calls",
                       json::array({{{"id", "call_1"},
                                     {"type", "function"},
                                     {"function",
                                      {{"name", "get_weather"}, {"arguments", "{\"city\": \"Paris\"}"}}}}})}},
                     {{"role", "tool"}, {"content", "sunny"}, {"tool_call_id", "call_1"}}})}}));
  EXPECT_EQ(history.messages[1]["tool_calls"][0]["function"]["arguments"]["city"], "Paris");
}

TEST(ChatRequest, WrongTypesAndRanges) {
  struct Case {
    json extra;
    const char* param;
  };
  const std::vector<Case> cases = {
      {{{"temperature", "hot"}}, "temperature"},
      {{{"temperature", -1}}, "temperature"},
      {{{"top_p", 0}}, "top_p"},
      {{{"top_p", 1.5}}, "top_p"},
      {{{"max_tokens", 0}}, "max_tokens"},
      {{{"max_tokens", 2.5}}, "max_tokens"},
      {{{"max_completion_tokens", "9"}}, "max_completion_tokens"},
      {{{"n", 0}}, "n"},
      {{{"n", 1000}}, "n"},
      {{{"presence_penalty", 3}}, "presence_penalty"},
      {{{"frequency_penalty", -2.5}}, "frequency_penalty"},
      {{{"logit_bias", {{"7", 200}}}}, "logit_bias.7"},
      {{{"logit_bias", {{"seven", 1}}}}, "logit_bias"},
      {{{"stop", 7}}, "stop"},
      {{{"stop", {"ok", 3}}}, "stop[1]"},
      {{{"stop", {""}}}, "stop"},
      {{{"stream", "yes"}}, "stream"},
      {{{"seed", "1"}}, "seed"},
      {{{"top_logprobs", 2}}, "top_logprobs"},  // without logprobs
      {{{"logprobs", true}, {"top_logprobs", 21}}, "top_logprobs"},
      {{{"stream_options", {{"include_usage", true}}}}, "stream_options"},  // without stream
      {{{"model", 3}}, "model"},
  };
  for (const Case& c : cases) {
    const ApiError e = chat_error(chat(c.extra));
    EXPECT_EQ(e.status(), 400) << c.extra.dump();
    EXPECT_EQ(e.param(), c.param) << c.extra.dump() << ": " << e.what();
    EXPECT_EQ(e.type(), "invalid_request_error");
  }
}

TEST(ChatRequest, MalformedMessages) {
  EXPECT_EQ(chat_error({{"model", "m"}}).param(), "messages");
  EXPECT_EQ(chat_error({{"messages", json::array()}}).param(), "messages");
  EXPECT_EQ(chat_error({{"messages", "hi"}}).param(), "messages");
  EXPECT_EQ(chat_error({{"messages", {{{"content", "x"}}}}}).param(), "messages[0].role");
  EXPECT_EQ(chat_error({{"messages", {{{"role", "wizard"}, {"content", "x"}}}}}).param(), "messages[0].role");
  EXPECT_EQ(chat_error({{"messages", {{{"role", "user"}}}}}).param(), "messages[0].content");
  EXPECT_EQ(chat_error({{"messages", {{{"role", "user"}, {"content", 5}}}}}).param(), "messages[0].content");
  EXPECT_EQ(chat_error({{"messages", {{{"role", "user"}, {"content", "x"}, {"mood", "happy"}}}}}).param(),
            "messages[0].mood");
  const json image = {{"role", "user"},
                      {"content", {{{"type", "image_url"}, {"image_url", {{"url", "http://x/y.png"}}}}}}};
  EXPECT_EQ(chat_error({{"messages", {image}}}).param(), "messages[0].content[0].type");
  EXPECT_EQ(chat_error(json::array()).status(), 400);
}

TEST(CompletionRequest, PromptShapes) {
  EXPECT_EQ(parse_completion_request({{"prompt", "hello"}}).prompts.size(), 1u);
  EXPECT_EQ(parse_completion_request({{"prompt", {"a", "b"}}}).prompts.size(), 2u);
  const CompletionCall ids = parse_completion_request({{"prompt", {1, 2, 3}}});
  ASSERT_EQ(ids.prompts.size(), 1u);
  EXPECT_EQ(std::get<std::vector<TokenId>>(ids.prompts[0]), (std::vector<TokenId>{1, 2, 3}));
  EXPECT_EQ(parse_completion_request({{"prompt", {{1, 2}, {3}}}}).prompts.size(), 2u);
  EXPECT_EQ(completion_error({{"model", "m"}}).param(), "prompt");
  EXPECT_EQ(completion_error({{"prompt", json::array()}}).param(), "prompt");
  EXPECT_EQ(completion_error({{"prompt", {1, -2}}}).param(), "prompt[1]");
  EXPECT_EQ(completion_error({{"prompt", {"a", 2}}}).param(), "prompt[1]");
}

TEST(CompletionRequest, LegacyDefaultsAndFields) {
  const CompletionCall call = parse_completion_request({{"prompt", "x"}});
  EXPECT_EQ(call.max_tokens, 16);  // the legacy API's default
  EXPECT_FALSE(call.logprobs);
  const CompletionCall lp = parse_completion_request({{"prompt", "x"}, {"logprobs", 2}, {"echo", false}});
  EXPECT_TRUE(lp.logprobs);
  EXPECT_EQ(lp.top_logprobs, 2);
  EXPECT_EQ(completion_error({{"prompt", "x"}, {"logprobs", true}}).param(), "logprobs");
  EXPECT_EQ(completion_error({{"prompt", "x"}, {"echo", true}}).param(), "echo");
  EXPECT_EQ(completion_error({{"prompt", "x"}, {"suffix", "end"}}).param(), "suffix");
  EXPECT_EQ(completion_error({{"prompt", "x"}, {"best_of", 3}}).param(), "best_of");
  EXPECT_NO_THROW(parse_completion_request({{"prompt", "x"}, {"best_of", 1}}));
  EXPECT_EQ(completion_error({{"prompt", "x"}, {"messages", json::array()}}).param(), "messages");
  EXPECT_EQ(completion_error({{"prompt", std::vector<std::string>(9, "p")}, {"n", 8}}).param(), "n");
}

TEST(SamplingParamsFromCall, OverDefaults) {
  SamplingParams defaults;
  defaults.temperature = 0.6;
  defaults.top_k = 20;
  CompletionCall call = parse_chat_request(chat({{"top_p", 0.5}, {"seed", 3}}));
  const SamplingParams params = sampling_params(call, defaults, 100);
  EXPECT_EQ(params.temperature, 0.6);
  EXPECT_EQ(params.top_k, 20);
  EXPECT_EQ(params.top_p, 0.5);
  EXPECT_EQ(params.seed, 3u);
  call = parse_chat_request(chat({{"logit_bias", {{"100", 1}}}}));
  try {
    sampling_params(call, defaults, 100);
    ADD_FAILURE() << "a bias for token 100 of 100 was accepted";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.param(), "logit_bias");
  }
}

ResponseContext context(Endpoint endpoint) {
  return ResponseContext{endpoint, make_completion_id(endpoint), 1700000000, "tiny", "fp_test"};
}

TEST(Responses, ChatCompletionShape) {
  const json r = completion_response(context(Endpoint::kChat), {{"Hello", "stop", nullptr}}, Usage{5, 2});
  EXPECT_EQ(r["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_EQ(r["created"], 1700000000);
  EXPECT_EQ(r["model"], "tiny");
  EXPECT_EQ(r["system_fingerprint"], "fp_test");
  ASSERT_EQ(r["choices"].size(), 1u);
  EXPECT_EQ(r["choices"][0]["index"], 0);
  EXPECT_EQ(r["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(r["choices"][0]["message"]["content"], "Hello");
  EXPECT_TRUE(r["choices"][0]["logprobs"].is_null());
  EXPECT_EQ(r["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(r["usage"], json({{"prompt_tokens", 5},
                              {"completion_tokens", 2},
                              {"total_tokens", 7},
                              {"prompt_tokens_details", {{"cached_tokens", 0}}}}));
}

TEST(Responses, TextCompletionShape) {
  const json r = completion_response(context(Endpoint::kCompletion),
                                     {{"a", "length", nullptr}, {"b", "stop", nullptr}}, Usage{3, 4});
  EXPECT_EQ(r["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  EXPECT_EQ(r["object"], "text_completion");
  EXPECT_EQ(r["choices"][1]["index"], 1);
  EXPECT_EQ(r["choices"][1]["text"], "b");
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
}

TEST(Responses, ChatChunks) {
  const ResponseContext c = context(Endpoint::kChat);
  const json first = stream_chunk(c, 0, std::string("assistant"), "", nullptr, std::nullopt, false);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"], json({{"role", "assistant"}, {"content", ""}}));
  EXPECT_TRUE(first["choices"][0]["finish_reason"].is_null());
  EXPECT_FALSE(first.contains("usage"));
  const json middle = stream_chunk(c, 0, std::nullopt, "Hi", nullptr, std::nullopt, true);
  EXPECT_EQ(middle["choices"][0]["delta"], json({{"content", "Hi"}}));
  EXPECT_TRUE(middle.contains("usage") && middle["usage"].is_null());
  const json last = stream_chunk(c, 0, std::nullopt, "", nullptr, std::string("length"), false);
  EXPECT_EQ(last["choices"][0]["delta"], json::object());
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
  const json usage = usage_chunk(c, Usage{1, 2, 1});
  EXPECT_EQ(usage["choices"], json::array());
  EXPECT_EQ(usage["usage"]["total_tokens"], 3);
  EXPECT_EQ(usage["usage"]["prompt_tokens_details"]["cached_tokens"], 1);
}

TEST(Responses, CompletionChunk) {
  const json chunk =
      stream_chunk(context(Endpoint::kCompletion), 2, std::nullopt, "xy", nullptr, std::nullopt, false);
  EXPECT_EQ(chunk["object"], "text_completion");
  EXPECT_EQ(chunk["choices"][0]["index"], 2);
  EXPECT_EQ(chunk["choices"][0]["text"], "xy");
  EXPECT_FALSE(chunk["choices"][0].contains("delta"));
}

TEST(Responses, FinishReasons) {
  EXPECT_EQ(finish_reason_json(FinishReason::kStop), "stop");
  EXPECT_EQ(finish_reason_json(FinishReason::kLength), "length");
  EXPECT_EQ(finish_reason_json(FinishReason::kCancelled), "abort");
}

std::vector<SampledToken> two_tokens() {
  SampledToken a;
  a.token = 1;
  a.logprob = -0.5f;
  a.top = {{1, -0.5f}, {2, -1.5f}};
  SampledToken b;
  b.token = 2;
  b.logprob = -0.25f;
  b.top = {{2, -0.25f}, {1, -2.0f}};
  return {a, b};
}

std::string text_of(int64_t token) { return token == 1 ? "He" : "llo"; }

TEST(Logprobs, ChatShape) {
  LogprobsBuilder builder(Endpoint::kChat, 1, text_of);
  const json lp = builder.build(two_tokens());
  ASSERT_EQ(lp["content"].size(), 2u);
  EXPECT_TRUE(lp["refusal"].is_null());
  const json& first = lp["content"][0];
  EXPECT_EQ(first["token"], "He");
  EXPECT_FLOAT_EQ(first["logprob"].get<float>(), -0.5f);
  EXPECT_EQ(first["bytes"], json({72, 101}));
  ASSERT_EQ(first["top_logprobs"].size(), 1u);
  EXPECT_EQ(first["top_logprobs"][0]["token"], "He");
}

TEST(Logprobs, CompletionShapeWithOffsetsAcrossCalls) {
  LogprobsBuilder builder(Endpoint::kCompletion, 2, text_of);
  const std::vector<SampledToken> tokens = two_tokens();
  const json first = builder.build({tokens[0]});
  const json second = builder.build({tokens[1]});
  EXPECT_EQ(first["tokens"], json({"He"}));
  EXPECT_EQ(first["text_offset"], json({0}));
  EXPECT_EQ(second["text_offset"], json({2}));
  EXPECT_EQ(second["top_logprobs"][0].size(), 2u);
  EXPECT_FLOAT_EQ(second["token_logprobs"][0].get<float>(), -0.25f);
}

}  // namespace
}  // namespace torchllm::server
