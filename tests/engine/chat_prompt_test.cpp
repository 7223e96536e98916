// Real tokenizers whose post-processor adds BOS (Llama 3.1, Gemma 3) with their real templates, which write
// bos_token themselves: the prompt must start with exactly one BOS.
#include "torchllm/chat_prompt.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "torchllm/chat_template.h"
#include "torchllm/json_file.h"

namespace torchllm {
namespace {

class ChatPromptBos : public ::testing::TestWithParam<std::string> {};

TEST_P(ChatPromptBos, TemplateWrittenBosIsNotDoubled) {
  const std::string dir =
      std::string(TORCHLLM_TOKENIZER_REFERENCE_DIR) + "/" + GetParam() + "/package/models";
  if (!file_exists(dir + "/tokenizer.json")) GTEST_SKIP() << "reference tokenizers not fetched (needs npm)";
  auto tokenizer = load_tokenizer(dir);
  const nlohmann::json config = read_json_file(dir + "/tokenizer_config.json");
  const std::string bos_text = config.at("bos_token").get<std::string>();
  const TokenId bos = *tokenizer->special_tokens().bos;
  ChatTemplate chat_template(*ChatTemplate::find_in_model_dir(dir),
                             {{"bos_token", bos_text}, {"eos_token", ""}});
  const std::string prompt =
      chat_template.render(nlohmann::ordered_json::parse(R"([{"role": "user", "content": "Hello there"}])"));
  ASSERT_EQ(prompt.rfind(bos_text, 0), 0u) << "the template writes BOS itself";

  // The trap: encoding with the post-processor gives two BOS.
  const std::vector<TokenId> doubled = tokenizer->encode(prompt);
  ASSERT_GE(doubled.size(), 2u);
  EXPECT_EQ(doubled[0], bos);
  EXPECT_EQ(doubled[1], bos);

  const std::vector<TokenId> ids = encode_chat_prompt(*tokenizer, prompt);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], bos);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), bos), 1);
  EXPECT_EQ(std::vector<TokenId>(doubled.begin() + 1, doubled.end()), ids);
}

INSTANTIATE_TEST_SUITE_P(RealTokenizers, ChatPromptBos, ::testing::Values("llama3_1", "gemma3"));

}  // namespace
}  // namespace torchllm
