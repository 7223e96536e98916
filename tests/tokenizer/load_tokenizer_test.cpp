#include <gtest/gtest.h>

#include <fstream>

#include "tiny_tokenizer.h"
#include "torchllm/error.h"
#include "torchllm/tokenizer.h"

namespace torchllm::tokenizer {
namespace {

using testing::write_tokenizer_directory;

Error::Kind load_error(const std::string& path, std::string* message = nullptr) {
  try {
    load_tokenizer(path);
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.kind();
  }
  return Error::Kind::kInternal;
}

TEST(LoadTokenizerTest, FromDirectoryOrFile) {
  const std::string dir = write_tokenizer_directory(
      "byte_level", {{"tokenizer.json", testing::tiny_byte_level_tokenizer_json()}});
  EXPECT_EQ(load_tokenizer(dir)->encode("hello world"), (std::vector<TokenId>{259, 264}));
  EXPECT_EQ(load_tokenizer(dir + "/tokenizer.json")->encode("hello"), std::vector<TokenId>{259});
}

TEST(LoadTokenizerTest, ErrorsSayWhatToDo) {
  std::string message;
  EXPECT_EQ(load_error("/nonexistent/model", &message), Error::Kind::kNotFound);
  const std::string empty = write_tokenizer_directory("empty", {});
  EXPECT_EQ(load_error(empty, &message), Error::Kind::kNotFound);
  EXPECT_NE(message.find("no tokenizer.json"), std::string::npos);

  const std::string sentencepiece = write_tokenizer_directory("sentencepiece", {{"tokenizer.model", "x"}});
  EXPECT_EQ(load_error(sentencepiece, &message), Error::Kind::kCorruptInput);
  EXPECT_NE(message.find(sentencepiece + "/tokenizer.model: not a SentencePiece model"), std::string::npos);
  EXPECT_EQ(load_error(sentencepiece + "/tokenizer.model"), Error::Kind::kCorruptInput);

  nlohmann::json bad = testing::tiny_byte_level_tokenizer_json();
  bad["decoder"] = {{"type", "CTC"}};
  const std::string unsupported = write_tokenizer_directory("unsupported", {{"tokenizer.json", bad}});
  EXPECT_EQ(load_error(unsupported, &message), Error::Kind::kUnsupported);
  EXPECT_NE(message.find("decoder type 'CTC'"), std::string::npos);
  EXPECT_NE(message.find(unsupported + "/tokenizer.json"), std::string::npos);

  const std::string corrupt = write_tokenizer_directory("corrupt", {});
  std::ofstream(corrupt + "/tokenizer.json") << "{\"model\": ";
  EXPECT_EQ(load_error(corrupt), Error::Kind::kCorruptInput);
}

TEST(LoadTokenizerTest, SpecialTokenRolesFromTheConfigFiles) {
  const std::string dir = write_tokenizer_directory(
      "roles", {{"tokenizer.json", testing::tiny_byte_level_tokenizer_json()},
                {"tokenizer_config.json", nlohmann::json::parse(R"({"bos_token": null, "eos_token": "<|end|>",
                    "pad_token": {"__type": "AddedToken", "content": "<think>"}, "unk_token": null})")},
                {"generation_config.json",
                 nlohmann::json::parse(R"({"bos_token_id": 259, "eos_token_id": [300, 264]})")},
                {"config.json", nlohmann::json::parse(R"({"eos_token_id": 256, "pad_token_id": 1})")}});
  const SpecialTokenRoles roles = load_tokenizer(dir)->special_tokens();
  EXPECT_EQ(roles.bos, 259);
  EXPECT_EQ(roles.eos, (std::vector<TokenId>{300, 264, 256}));
  EXPECT_TRUE(roles.is_eos(264));
  EXPECT_FALSE(roles.is_eos(259));
  EXPECT_EQ(roles.pad, 301);
  EXPECT_EQ(roles.unk, std::nullopt);
  EXPECT_FALSE(roles.add_bos);
}

TEST(LoadTokenizerTest, AddBosFollowsTheConfigElseTheTemplate) {
  const std::string from_template = write_tokenizer_directory(
      "template_bos",
      {{"tokenizer.json", testing::tiny_metaspace_tokenizer_json()},
       {"tokenizer_config.json", nlohmann::json::parse(R"({"bos_token": "<s>", "eos_token": "</s>"})")}});
  SpecialTokenRoles roles = load_tokenizer(from_template)->special_tokens();
  EXPECT_EQ(roles.bos, 1);
  EXPECT_EQ(roles.eos, std::vector<TokenId>{2});
  EXPECT_TRUE(roles.add_bos);
  const std::string configured = write_tokenizer_directory(
      "configured_bos",
      {{"tokenizer.json", testing::tiny_metaspace_tokenizer_json()},
       {"tokenizer_config.json", nlohmann::json::parse(R"({"bos_token": "<s>", "add_bos_token": false})")}});
  EXPECT_FALSE(load_tokenizer(configured)->special_tokens().add_bos);
  // Without any config file there are no roles but the tokenizer still works.
  const std::string bare =
      write_tokenizer_directory("bare", {{"tokenizer.json", testing::tiny_metaspace_tokenizer_json()}});
  roles = load_tokenizer(bare)->special_tokens();
  EXPECT_EQ(roles.bos, std::nullopt);
  EXPECT_TRUE(roles.eos.empty());
}

}  // namespace
}  // namespace torchllm::tokenizer
