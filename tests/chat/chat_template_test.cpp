#include "torchllm/chat_template.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "torchllm/error.h"

namespace torchllm {
namespace {

using Json = nlohmann::ordered_json;

std::string render(const std::string& source, const Json& messages = Json::array(),
                   ChatRenderOptions options = {}) {
  return ChatTemplate(source, {{"bos_token", "<s>"}, {"eos_token", "</s>"}}).render(messages, options);
}

std::string error_of(const std::string& source, const Json& messages = Json::array()) {
  try {
    render(source, messages);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument);
    return e.what();
  }
  ADD_FAILURE() << "no error for " << source;
  return "";
}

const Json kConversation = Json::parse(R"([
  {"role": "system", "content": "Be brief."},
  {"role": "user", "content": "Hi"},
  {"role": "assistant", "content": "Hello!"},
  {"role": "user", "content": [{"type": "text", "text": "part one"}, {"type": "text", "text": " two"}]}
])");

TEST(ChatTemplate, ChatMlRendersEveryTurnAndTheGenerationPrompt) {
  const Json messages =
      Json::parse(R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}])");
  EXPECT_EQ(render(ChatTemplate::chatml_source(), messages),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nYo<|im_end|>\n<|im_start|>assistant\n");
  ChatRenderOptions no_prompt;
  no_prompt.add_generation_prompt = false;
  EXPECT_EQ(render(ChatTemplate::chatml_source(), messages, no_prompt),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nYo<|im_end|>\n");
}

TEST(ChatTemplate, GlobalsSpecialTokensToolsAndKwargs) {
  ChatRenderOptions options;
  options.kwargs = Json{{"enable_thinking", false}};
  EXPECT_EQ(render("{{ bos_token }}|{{ eos_token }}|{{ tools is none }}|{{ enable_thinking is false }}|"
                   "{{ add_generation_prompt }}|{{ messages|length }}",
                   kConversation, options),
            "<s>|</s>|True|True|True|4");
  options.tools =
      Json::parse(R"([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}])");
  EXPECT_EQ(render("{{ tools[0].function.name }} {{ tools[0]|tojson }}", kConversation, options),
            R"(f {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}})");
}

TEST(ChatTemplate, ContentPartsAndUndefinedBehaveAsInJinja2) {
  EXPECT_EQ(render("{% for p in messages[3].content %}{{ p.text }}{% endfor %}", kConversation),
            "part one two");
  EXPECT_EQ(
      render("[{{ nothing }}]{% if nothing %}x{% endif %}{{ nothing is defined }}{{ messages[0].nope }}",
             kConversation),
      "[]False");
  EXPECT_NE(error_of("{{ nothing.attr }}").find("'nothing' is undefined"), std::string::npos);
}

TEST(ChatTemplate, SyntaxErrorsGiveLineAndColumn) {
  const std::string message = error_of("line one\n{% if %}");
  EXPECT_NE(message.find("line 2, column"), std::string::npos) << message;
  EXPECT_NE(error_of("{% for x in y %}never closed").find("endfor"), std::string::npos);
  EXPECT_NE(error_of("{{ 'unterminated }}").find("line 1"), std::string::npos);
  EXPECT_NE(error_of("{% include 'x' %}").find("include"), std::string::npos);
}

TEST(ChatTemplate, RaiseExceptionSurfacesItsMessage) {
  EXPECT_EQ(error_of("{{ raise_exception('Roles must alternate user/assistant') }}"),
            "Roles must alternate user/assistant");
}

TEST(ChatTemplate, RunawayTemplatesStopWithAnError) {
  EXPECT_NE(error_of("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
                .find("work limit"),
            std::string::npos);
  EXPECT_NE(error_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").find("recursion"),
            std::string::npos);
  EXPECT_NE(error_of("{{ 'x' * 100000000 }}").find("too large"), std::string::npos);
  EXPECT_NE(error_of("{% set s = 'abcdefgh' * 1000000 %}{% for i in range(10) %}{{ s }}{% endfor %}")
                .find("exceeds"),
            std::string::npos);
  EXPECT_NE(error_of("{{ range(1000000)|length }}").find("Range too big"), std::string::npos);
  EXPECT_NE(
      error_of("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}").find("nests deeper"),
      std::string::npos);
}

TEST(ChatTemplate, FindsTheTemplateOfAModelDirectory) {
  const std::string dir = ::testing::TempDir() + "/chat-template-dir";
  std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str());
  EXPECT_FALSE(ChatTemplate::find_in_model_dir(dir).has_value());
  std::ofstream(dir + "/tokenizer_config.json")
      << R"({"chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}]})";
  EXPECT_EQ(ChatTemplate::find_in_model_dir(dir), "D");
  EXPECT_EQ(ChatTemplate::find_in_model_dir(dir, "tool_use"), "T");
  EXPECT_THROW(ChatTemplate::find_in_model_dir(dir, "rag"), Error);
  std::ofstream(dir + "/tokenizer_config.json") << R"({"chat_template": "S"})";
  EXPECT_EQ(ChatTemplate::find_in_model_dir(dir), "S");
  std::ofstream(dir + "/chat_template.jinja") << "J";
  EXPECT_EQ(ChatTemplate::find_in_model_dir(dir), "J");
}

}  // namespace
}  // namespace torchllm
