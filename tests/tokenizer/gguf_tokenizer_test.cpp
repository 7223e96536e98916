// Tokenizers from GGUF metadata against llama.cpp's tokenizer on the same files (ids recorded by
// tools/make_gguf_references.py): the character-level gpt2 vocabulary of the reference GGUFs, a
// SentencePiece ("llama") vocabulary with scores and byte fallback, and the real Qwen3 (pre qwen2) and
// Llama 3 (pre llama-bpe) vocabularies, which tests/tokenizer/make_gguf_vocabs.sh remakes at test time.
#include "tokenizer/gguf_tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "torchllm/chat_template.h"
#include "torchllm/error.h"
#include "torchllm/json_file.h"
#include "torchllm/tokenizer.h"

namespace torchllm {
namespace {

const std::string kGguf = std::string(TORCHLLM_TEST_DATA_DIR) + "/gguf";
const std::string kVocabs = TORCHLLM_GGUF_VOCAB_DIR;
const std::string kRefs = TORCHLLM_TOKENIZER_REFERENCE_DIR;

// One string per line, "\n" and "\t" written as escapes (as llama_reference reads them).
std::vector<std::string> read_strings(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    std::string text;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) {
        const char next = line[++i];
        text += next == 'n' ? '\n' : next == 't' ? '\t' : next;
      } else {
        text += line[i];
      }
    }
    out.push_back(text);
  }
  return out;
}

void expect_llama_cpp_ids(const std::string& gguf, const std::string& strings_file,
                          const std::string& ids_file) {
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(gguf);
  const std::vector<std::string> strings = read_strings(strings_file);
  const auto expected = read_json_file(ids_file).at("ids").get<std::vector<std::vector<TokenId>>>();
  ASSERT_EQ(strings.size(), expected.size());
  for (size_t i = 0; i < strings.size(); ++i) {
    EXPECT_EQ(tokenizer->encode(strings[i]), expected[i]) << "string " << i << ": '" << strings[i] << "'";
  }
}

TEST(GgufTokenizer, CharacterLevelGpt2VocabularyMatchesLlamaCpp) {
  expect_llama_cpp_ids(kGguf + "/models/qwen3-f32.gguf", kGguf + "/tokenizer/tiny_strings.txt",
                       kGguf + "/tokenizer/tiny-ids.json");
}

TEST(GgufTokenizer, SentencePieceVocabularyMatchesLlamaCpp) {
  expect_llama_cpp_ids(kGguf + "/tokenizer/vocab-spm.gguf", kGguf + "/tokenizer/strings.txt",
                       kGguf + "/tokenizer/spm-ids.json");
}

TEST(GgufTokenizer, SentencePieceDecodesWhatItEncodes) {
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(kGguf + "/tokenizer/vocab-spm.gguf");
  for (const std::string& text : {std::string("the quick brown fox"), std::string("café 日本 🦙 x")}) {
    EXPECT_EQ(tokenizer->decode(tokenizer->encode(text), /*skip_special_tokens=*/true), text);
  }
  EXPECT_EQ(tokenizer->special_tokens().bos, 1);
  EXPECT_TRUE(tokenizer->special_tokens().is_eos(2));
  EXPECT_TRUE(tokenizer->special_tokens().add_bos);
}

class RealVocabulary : public ::testing::TestWithParam<std::string> {};

TEST_P(RealVocabulary, MatchesLlamaCpp) {
  const std::string gguf = kVocabs + "/vocab-" + GetParam() + ".gguf";
  if (!file_exists(gguf)) GTEST_SKIP() << gguf << " was not made (make_gguf_vocabs.sh could not fetch)";
  expect_llama_cpp_ids(gguf, kGguf + "/tokenizer/strings.txt",
                       kGguf + "/tokenizer/" + GetParam() + "-ids.json");
}

TEST_P(RealVocabulary, ChatTemplateAndSpecialTokensComeFromTheMetadata) {
  const std::string gguf = kVocabs + "/vocab-" + GetParam() + ".gguf";
  if (!file_exists(gguf)) GTEST_SKIP() << gguf << " was not made (make_gguf_vocabs.sh could not fetch)";
  const nlohmann::json config =
      read_json_file(kRefs + "/" + GetParam() + "/package/models/tokenizer_config.json");
  if (!config.contains("chat_template")) {  // GPT-2: none in its files, none in the GGUF
    EXPECT_FALSE(ChatTemplate::find_in_model_dir(gguf).has_value());
    return;
  }
  const std::optional<std::string> source = ChatTemplate::find_in_model_dir(gguf);
  ASSERT_TRUE(source.has_value());
  EXPECT_EQ(*source, config.at("chat_template").get<std::string>());
  const auto specials = ChatTemplate::special_tokens_in_model_dir(gguf);
  const nlohmann::json eos = config.at("eos_token");
  EXPECT_EQ(specials.at("eos_token"),
            eos.is_string() ? eos.get<std::string>() : eos.at("content").get<std::string>());
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(gguf);
  // llama.cpp ends a generation on its end-of-generation set, which holds the turn end of both.
  const std::string turn_end = GetParam() == "qwen3" ? "<|im_end|>" : "<|eot_id|>";
  EXPECT_TRUE(tokenizer->special_tokens().is_eos(*tokenizer->token_to_id(turn_end)));
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, RealVocabulary, ::testing::Values("qwen3", "llama3", "gpt2"));

TEST(GgufTokenizer, UnknownPreTokenizerIsAnErrorNamingTheSupportedOnes) {
  GgufMetadata m;
  GgufValue model, pre, tokens;
  model.type = pre.type = GgufType::kString;
  model.s = "gpt2";
  pre.s = "made-up";
  tokens.type = GgufType::kArray;
  tokens.element_type = GgufType::kString;
  GgufValue a;
  a.type = GgufType::kString;
  a.s = "a";
  tokens.items = {a};
  m.entries = {
      {"tokenizer.ggml.model", model}, {"tokenizer.ggml.pre", pre}, {"tokenizer.ggml.tokens", tokens}};
  try {
    tokenizer::gguf_tokenizer_json(m, "x.gguf");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("'made-up'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("llama-bpe"), std::string::npos) << e.what();
  }
  m.entries[0].value.s = "bert";
  EXPECT_THROW(tokenizer::gguf_tokenizer_json(m, "x.gguf"), Error);
}

}  // namespace
}  // namespace torchllm
