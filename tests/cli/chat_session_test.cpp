#include "cli/chat_session.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace torchllm::cli {
namespace {

using Action = ChatSession::Action;

GenerationResult reply(const std::string& text, int64_t prompt_tokens = 10, int64_t cached = 0,
                       FinishReason reason = FinishReason::kStop) {
  GenerationResult result;
  result.text = text;
  result.finish_reason = reason;
  result.stats.prompt_tokens = prompt_tokens;
  result.stats.cached_prompt_tokens = cached;
  result.stats.generated_tokens = 4;
  result.stats.prefill_tok_s = 100;
  result.stats.decode_tok_s = 20;
  return result;
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "/chat_session_" + std::to_string(::getpid()) + "_" + name;
}

TEST(ChatSession, MessagesJoinTheConversation) {
  ChatSettings settings;
  settings.system = "Be brief.";
  ChatSession session(settings);
  EXPECT_EQ(session.handle("Hi").action, Action::kReply);
  session.add_reply(reply("<think>\nhm\n</think>\n\nHello!"));
  EXPECT_EQ(session.handle("How are you?").action, Action::kReply);
  const nlohmann::ordered_json expected = nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "<think>\nhm\n</think>\n\nHello!"},
    {"role": "user", "content": "How are you?"}])");
  EXPECT_EQ(session.messages(), expected);  // the reply as generated: the template decides about reasoning
}

TEST(ChatSession, BlankInputDoesNothing) {
  ChatSession session({});
  const ChatSession::Outcome outcome = session.handle("  \t");
  EXPECT_EQ(outcome.action, Action::kNone);
  EXPECT_TRUE(outcome.output.empty());
  EXPECT_TRUE(session.turns().empty());
}

TEST(ChatSession, SlashesThatAreNotCommands) {
  ChatSession session({});
  EXPECT_EQ(session.handle("//etc/passwd is a file").action, Action::kReply);
  EXPECT_EQ(session.turns().back().content, "/etc/passwd is a file");
  session.add_reply(reply("ok"));
  EXPECT_EQ(session.handle("/literal text", /*literal=*/true).action, Action::kReply);
  EXPECT_EQ(session.turns().back().content, "/literal text");
}

TEST(ChatSession, UnknownCommandSaysSo) {
  ChatSession session({});
  const ChatSession::Outcome outcome = session.handle("/frobnicate now");
  EXPECT_EQ(outcome.action, Action::kNone);
  EXPECT_NE(outcome.output.find("unknown command /frobnicate"), std::string::npos);
  EXPECT_TRUE(session.turns().empty());
}

TEST(ChatSession, ExitAndHelp) {
  ChatSession session({});
  EXPECT_EQ(session.handle("/exit").action, Action::kExit);
  EXPECT_EQ(session.handle("/quit").action, Action::kExit);
  EXPECT_EQ(session.handle("/bye").action, Action::kExit);
  const std::string help = session.handle("/help").output;
  for (const char* command :
       {"/clear", "/system", "/set", "/params", "/think", "/save", "/load", "/regen", "/stats", "/exit"}) {
    EXPECT_NE(help.find(command), std::string::npos) << command;
  }
}

TEST(ChatSession, SetAndParams) {
  ChatSettings settings;
  settings.sampling.temperature = 0.7;
  ChatSession session(settings);
  EXPECT_EQ(session.handle("/set temperature 0").output, "temperature=0");
  EXPECT_EQ(session.settings().sampling.temperature, 0.0);
  session.handle("/set top-k 5");
  EXPECT_EQ(session.settings().sampling.top_k, 5);
  session.handle("/set seed 42");
  session.handle("/set max_tokens 64");
  EXPECT_EQ(session.settings().max_tokens, 64);
  const std::string params = session.handle("/params").output;
  EXPECT_NE(params.find("temperature=0 "), std::string::npos) << params;
  EXPECT_NE(params.find("top_k=5"), std::string::npos) << params;
  EXPECT_NE(params.find("seed=42"), std::string::npos) << params;
  EXPECT_NE(params.find("max_tokens=64"), std::string::npos) << params;
  session.handle("/set max_tokens none");
  EXPECT_FALSE(session.settings().max_tokens);
}

TEST(ChatSession, BadSetChangesNothing) {
  ChatSession session({});
  const SamplingParams before = session.settings().sampling;
  EXPECT_NE(session.handle("/set temperature hot").output.find("must be a number"), std::string::npos);
  EXPECT_NE(session.handle("/set top_p 2").output.find("top_p"), std::string::npos);
  EXPECT_NE(session.handle("/set colour blue").output.find("unknown parameter"), std::string::npos);
  EXPECT_NE(session.handle("/set max_tokens 0").output.find("at least 1"), std::string::npos);
  EXPECT_NE(session.handle("/set temperature").output.find("usage"), std::string::npos);
  EXPECT_EQ(session.settings().sampling.temperature, before.temperature);
  EXPECT_EQ(session.settings().sampling.top_p, before.top_p);
}

TEST(ChatSession, ThinkSetsTheTemplateVariable) {
  ChatSession session({});
  EXPECT_TRUE(session.template_kwargs().empty());
  session.handle("/think off");
  EXPECT_EQ(session.template_kwargs(), nlohmann::ordered_json({{"enable_thinking", false}}));
  session.handle("/think on");
  EXPECT_EQ(session.template_kwargs(), nlohmann::ordered_json({{"enable_thinking", true}}));
  EXPECT_NE(session.handle("/think maybe").output.find("usage"), std::string::npos);
  EXPECT_NE(session.handle("/think").output.find("thinking on"), std::string::npos);
}

TEST(ChatSession, SystemAndClear) {
  ChatSession session({});
  EXPECT_EQ(session.handle("/system").output, "no system message");
  session.handle("/system You are a pirate.");
  EXPECT_EQ(session.handle("/system").output, "system: You are a pirate.");
  session.handle("Ahoy");
  session.add_reply(reply("Arr"));
  session.handle("/clear");
  EXPECT_TRUE(session.turns().empty());
  EXPECT_EQ(session.messages(),
            nlohmann::ordered_json::parse(R"([{"role":"system","content":"You are a pirate."}])"));
  EXPECT_EQ(session.handle("/stats").output, "no replies in this conversation yet");
}

TEST(ChatSession, SaveThenLoadRestoresTheConversation) {
  ChatSettings settings;
  settings.system = "sys";
  ChatSession first(settings);
  first.handle("one");
  first.add_reply(reply("two"));
  first.handle("three");
  first.add_reply(reply("four"));
  const std::string path = temp_path("roundtrip.json");
  EXPECT_EQ(first.handle("/save " + path).output, "saved 5 messages to " + path);

  ChatSession second({});
  EXPECT_EQ(second.handle("/load " + path).output, "loaded 5 messages from " + path);
  EXPECT_EQ(second.messages(), first.messages());
  EXPECT_EQ(second.settings().system, "sys");
  std::remove(path.c_str());
}

TEST(ChatSession, LoadAcceptsAnOpenAiRequest) {
  const std::string path = temp_path("request.json");
  std::ofstream(path) << R"({"model": "x", "messages": [{"role": "user", "content": "q"}]})";
  ChatSession session({});
  session.handle("/system old");
  EXPECT_EQ(session.handle("/load " + path).output, "loaded 1 message from " + path);
  EXPECT_EQ(session.settings().system, "");  // the file's conversation, system message included
  EXPECT_EQ(session.turns().size(), 1u);
  std::remove(path.c_str());
}

TEST(ChatSession, BadLoadKeepsTheConversation) {
  ChatSession session({});
  session.handle("keep me");
  session.add_reply(reply("kept"));
  const std::string path = temp_path("bad.json");
  std::ofstream(path) << R"([{"role": "user", "content": "a"}, {"role": "tool", "content": "b"}])";
  EXPECT_NE(session.handle("/load " + path).output.find("message 2: role \"tool\""), std::string::npos);
  std::ofstream(path) << "not json";
  EXPECT_NE(session.handle("/load " + path).output.find("not JSON"), std::string::npos);
  std::remove(path.c_str());
  EXPECT_NE(session.handle("/load " + path).output.find("cannot load"), std::string::npos);
  EXPECT_NE(session.handle("/load").output.find("usage"), std::string::npos);
  EXPECT_EQ(session.turns().size(), 2u);
  EXPECT_NE(session.handle("/save /nonexistent-dir/x.json").output.find("cannot write"), std::string::npos);
}

TEST(ChatSession, RegenReplacesTheLastReply) {
  ChatSession session({});
  EXPECT_EQ(session.handle("/regen").output, "nothing to regenerate");
  session.handle("question");
  session.add_reply(reply("first answer"));
  EXPECT_EQ(session.handle("/regen").action, Action::kReply);
  ASSERT_EQ(session.turns().size(), 1u);
  EXPECT_EQ(session.turns().back().content, "question");
  // A failed regeneration keeps the question, which was answered before.
  session.drop_unanswered();
  EXPECT_EQ(session.turns().size(), 1u);
  session.add_reply(reply("second answer"));
  EXPECT_EQ(session.turns().back().content, "second answer");
}

TEST(ChatSession, FailedReplyDropsTheMessage) {
  ChatSession session({});
  session.handle("fits");
  session.add_reply(reply("ok"));
  session.handle("too long");
  session.drop_unanswered();
  ASSERT_EQ(session.turns().size(), 2u);
  EXPECT_EQ(session.turns().back().content, "ok");
}

TEST(ChatSession, CancelledReplyStays) {
  ChatSession session({});
  session.handle("tell me a long story");
  session.add_reply(reply("Once upon", 10, 0, FinishReason::kCancelled));
  EXPECT_EQ(session.turns().back().content, "Once upon");
  EXPECT_NE(session.handle("/stats").output.find("cancelled"), std::string::npos);
}

TEST(ChatSession, StatsPerReply) {
  ChatSession session({});
  session.handle("a");
  session.add_reply(reply("b", 12, 0));
  session.handle("c");
  session.add_reply(reply("d", 30, 16));
  const std::string stats = session.handle("/stats").output;
  EXPECT_NE(stats.find("reply 1: prompt 12 tokens (0 cached), 100.0 tok/s | generated 4 tokens, 20.0 tok/s"),
            std::string::npos)
      << stats;
  EXPECT_NE(stats.find("reply 2: prompt 30 tokens (16 cached)"), std::string::npos) << stats;
  EXPECT_NE(stats.find("total: prompt 42 tokens (16 cached) | generated 8 tokens"), std::string::npos)
      << stats;
}

TEST(ChatSession, StatsShowTheKvCache) {
  ChatSession session({});
  KvCacheStats kv;
  kv.block_size = 16;
  kv.blocks_total = 256;
  kv.blocks_used = 7;
  kv.blocks_cached = 12;
  kv.prompt_tokens = 1500;
  kv.prefix_hit_tokens = 1234;
  session.set_kv_stats([&kv] { return kv; });
  const std::string line =
      "KV cache: 7/256 blocks of 16 tokens in use, 12 cached; prefix cache: 1234 of 1500 prompt tokens from "
      "the cache";
  EXPECT_EQ(session.handle("/stats").output, "no replies in this conversation yet\n" + line);
  session.handle("a");
  session.add_reply(reply("b", 12, 0));
  const std::string stats = session.handle("/stats").output;
  EXPECT_EQ(stats.substr(stats.size() - line.size()), line) << stats;
  kv.preemptions = 2;  // read at each /stats
  EXPECT_NE(session.handle("/stats").output.find(line + ", 2 preemptions"), std::string::npos);
}

TEST(ChatSession, LeavingOutTheOldestKeepsTheSystemMessageAndTheNewestMessage) {
  ChatSettings settings;
  settings.system = "Be brief.";
  ChatSession session(settings);
  for (const char* text : {"one", "two", "three"}) {
    session.handle(text);
    session.add_reply(reply(std::string("re ") + text));
  }
  session.handle("four");
  ASSERT_TRUE(session.leave_out_oldest());
  EXPECT_EQ(session.turns_left_out(), 2u);
  const nlohmann::ordered_json expected = nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "two"},
    {"role": "assistant", "content": "re two"},
    {"role": "user", "content": "three"},
    {"role": "assistant", "content": "re three"},
    {"role": "user", "content": "four"}])");
  EXPECT_EQ(session.messages(), expected);
  ASSERT_TRUE(session.leave_out_oldest());
  ASSERT_TRUE(session.leave_out_oldest());
  EXPECT_FALSE(session.leave_out_oldest());  // the newest message stays
  EXPECT_EQ(session.messages().size(), 2u);
  EXPECT_EQ(session.messages()[0]["role"], "system");
  EXPECT_EQ(session.messages()[1]["content"], "four");
  EXPECT_EQ(session.turns().size(), 7u);  // all kept, for /save

  const std::string path = temp_path("left_out.json");
  session.handle("/save " + path);
  std::ifstream in(path);
  EXPECT_EQ(nlohmann::ordered_json::parse(in).size(), 8u);  // the system message and every turn
  std::remove(path.c_str());
  session.handle("/clear");
  EXPECT_EQ(session.turns_left_out(), 0u);
}

TEST(ChatSession, LeavingOutStartsTheRestWithAUserMessage) {
  ChatSession session({});
  const std::string path = temp_path("assistant_twice.json");
  std::ofstream(path) << R"([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
    {"role": "assistant", "content": "c"}, {"role": "user", "content": "d"}])";
  session.handle("/load " + path);
  std::remove(path.c_str());
  ASSERT_TRUE(session.leave_out_oldest());
  EXPECT_EQ(session.messages().size(), 1u);
  EXPECT_EQ(session.messages()[0]["content"], "d");
  EXPECT_FALSE(session.leave_out_oldest());
}

}  // namespace
}  // namespace torchllm::cli
