#include "tokenizer/hf/hf_tokenizer.h"

#include <gtest/gtest.h>

#include "tiny_tokenizer.h"
#include "tokenizer/unicode_text.h"
#include "tokenizer/utf8.h"
#include "torchllm/error.h"

namespace torchllm::tokenizer::hf {
namespace {

using Ids = std::vector<TokenId>;

constexpr TokenId kHello = 259, kSpaceWorld = 264, kEnd = 300, kThink = 301;

std::unique_ptr<HfTokenizer> byte_level(const nlohmann::json& extra_added_tokens = nlohmann::json::array()) {
  nlohmann::json config = testing::tiny_byte_level_tokenizer_json();
  for (const nlohmann::json& token : extra_added_tokens) config["added_tokens"].push_back(token);
  return make_hf_tokenizer(config);
}

TEST(HfTokenizerTest, EncodesWordsWithMerges) {
  const auto tokenizer = byte_level();
  EXPECT_EQ(tokenizer->encode("hello world"), (Ids{kHello, kSpaceWorld}));
  EXPECT_EQ(tokenizer->encode(""), Ids{});
  EXPECT_EQ(tokenizer->decode({kHello, kSpaceWorld}), "hello world");
  EXPECT_EQ(tokenizer->vocab_size(), 256u + 9u + 2u);
  EXPECT_EQ(tokenizer->token_to_id("hello"), kHello);
  EXPECT_EQ(tokenizer->token_to_id("<|end|>"), kEnd);
  EXPECT_EQ(tokenizer->id_to_token(kSpaceWorld), "\xC4\xA0world");
  EXPECT_EQ(tokenizer->id_to_token(12345), std::nullopt);
}

TEST(HfTokenizerTest, SpecialTokensAreRecognizedUnlessSplit) {
  const auto tokenizer = byte_level();
  EXPECT_EQ(tokenizer->encode("hello<|end|> world<think>"), (Ids{kHello, kEnd, kSpaceWorld, kThink}));
  EncodeOptions split;
  split.split_special_tokens = true;
  // The special token's text becomes ordinary text; the non-special <think> is still recognized.
  EXPECT_EQ(tokenizer->encode("<|end|><think>", split), (Ids{'<', '|', 'e', 'n', 'd', '|', '>', kThink}));
  EXPECT_TRUE(tokenizer->is_special(kEnd));
  EXPECT_FALSE(tokenizer->is_special(kThink));
  EXPECT_FALSE(tokenizer->is_special(kHello));
}

TEST(HfTokenizerTest, DecodeSkipsSpecialTokensOnRequestAndUnknownIdsAlways) {
  const auto tokenizer = byte_level();
  EXPECT_EQ(tokenizer->decode({kHello, kEnd, kSpaceWorld, kThink}), "hello<|end|> world<think>");
  EXPECT_EQ(tokenizer->decode({kHello, kEnd, kSpaceWorld, kThink}, true), "hello world<think>");
  EXPECT_EQ(tokenizer->decode({kHello, 99999, -5}), "hello");
}

// tokenizers' test_lstrip_unicode_space / test_single_word_is_correct, seen through ids.
TEST(HfTokenizerTest, AddedTokenStripAndSingleWord) {
  const auto tokenizer = byte_level(nlohmann::json::parse(R"([
      {"id": 302, "content": "<mask>", "lstrip": true, "rstrip": true, "single_word": true, "normalized": false,
       "special": false}])"));
  const Ids hi = {'H', 'i'};
  const Ids there = {'t', 256, 'r', 'e'};  // "he" is merge 256
  Ids expected = hi;
  expected.push_back(302);
  expected.insert(expected.end(), there.begin(), there.end());
  EXPECT_EQ(tokenizer->encode("Hi <mask> there"), expected);
  EXPECT_EQ(tokenizer->encode("\t<mask>\t"), Ids{302});
  // Inside a word it is not a single word, so it stays text.
  const Ids inside = tokenizer->encode("A<mask>");
  EXPECT_EQ(std::count(inside.begin(), inside.end(), 302), 0);
}

TEST(HfTokenizerTest, NormalizedAddedTokensMatchTheNormalizedText) {
  const auto tokenizer = byte_level(nlohmann::json::parse(R"([
      {"id": 303, "content": "\u00e9", "normalized": true, "special": false},
      {"id": 304, "content": "o\u0308", "normalized": false, "special": false}])"));
  EXPECT_EQ(tokenizer->encode("e\xCC\x81"), Ids{303});  // NFC makes é, which then matches
  EXPECT_EQ(tokenizer->encode("\xC3\xA9"), Ids{303});
  EXPECT_EQ(tokenizer->encode("o\xCC\x88"), Ids{304});  // matched in the raw text, before NFC
}

TEST(HfTokenizerTest, InvalidUtf8IsReadWithReplacementCharacters) {
  const auto tokenizer = byte_level();
  EXPECT_EQ(tokenizer->encode("a\xFF"), tokenizer->encode("a\xEF\xBF\xBD"));
  EXPECT_EQ(tokenizer->decode(tokenizer->encode("a\xFF"
                                                "b")),
            "a\xEF\xBF\xBD"
            "b");
}

// Any bytes at all: a defined result, decodable, never a crash.
TEST(HfTokenizerTest, RandomBytes) {
  const auto byte_level_tokenizer = byte_level();
  const auto metaspace = make_hf_tokenizer(testing::tiny_metaspace_tokenizer_json());
  uint64_t state = 12345;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bytes;
    const size_t length = trial % 97;
    for (size_t i = 0; i < length; ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      bytes.push_back(static_cast<char>(state >> 56));
    }
    EncodeOptions plain;
    plain.add_special_tokens = false;
    for (const HfTokenizer* tokenizer : {byte_level_tokenizer.get(), metaspace.get()}) {
      const Ids ids = tokenizer->encode(bytes, plain);
      const std::string text = tokenizer->decode(ids);
      EXPECT_TRUE(is_valid_utf8(text));
      // Byte-level BPE is lossless: the text, read with U+FFFD for invalid bytes, comes back in NFC (its
      // normalizer).
      if (tokenizer == byte_level_tokenizer.get()) {
        EXPECT_EQ(text, to_nfc(to_valid_utf8(bytes)));
      }
    }
  }
}

TEST(HfTokenizerTest, MetaspaceTemplateAndByteFallback) {
  const auto tokenizer = make_hf_tokenizer(testing::tiny_metaspace_tokenizer_json());
  const TokenId hello = *tokenizer->token_to_id("\xE2\x96\x81Hello");
  const TokenId world = *tokenizer->token_to_id("\xE2\x96\x81world");
  EXPECT_EQ(tokenizer->encode("Hello world"), (Ids{1, hello, world}));
  EncodeOptions plain;
  plain.add_special_tokens = false;
  EXPECT_EQ(tokenizer->encode("Hello world", plain), (Ids{hello, world}));
  EXPECT_EQ(tokenizer->decode({1, hello, world}, true), "Hello world");
  EXPECT_EQ(tokenizer->decode({1, hello, world}), "<s> Hello world");
  // prepend_scheme "first": text after a special token does not start the input, so gets no "▁".
  const TokenId H = *tokenizer->token_to_id("H"), e = *tokenizer->token_to_id("e"),
                ll = *tokenizer->token_to_id("ll"), o = *tokenizer->token_to_id("o");
  EXPECT_EQ(tokenizer->encode("<s>Hello", plain), (Ids{1, H, e, ll, o}));
  // "i" is not in the vocabulary: its byte.
  EXPECT_EQ(tokenizer->encode("i", plain), (Ids{*tokenizer->token_to_id("\xE2\x96\x81"), 3 + 'i'}));
  EXPECT_EQ(tokenizer->decode(tokenizer->encode("\xE4\xBD\xA0 Hello", plain)), "\xE4\xBD\xA0 Hello");
}

TEST(HfTokenizerTest, RejectsWhatItDoesNotImplement) {
  auto kind_of = [](const nlohmann::json& config) {
    try {
      make_hf_tokenizer(config);
    } catch (const Error& e) {
      return std::make_pair(e.kind(), std::string(e.what()));
    }
    return std::make_pair(Error::Kind::kInternal, std::string("no error"));
  };
  nlohmann::json config = testing::tiny_byte_level_tokenizer_json();
  config["model"]["type"] = "WordPiece";
  auto [kind, message] = kind_of(config);
  EXPECT_EQ(kind, Error::Kind::kUnsupported);
  EXPECT_NE(message.find("WordPiece"), std::string::npos);

  config = testing::tiny_byte_level_tokenizer_json();
  config["model"]["dropout"] = 0.1;
  EXPECT_EQ(kind_of(config).first, Error::Kind::kUnsupported);
  config["model"]["dropout"] = 0.0;
  EXPECT_EQ(kind_of(config).first, Error::Kind::kInternal);  // loads

  config = testing::tiny_byte_level_tokenizer_json();
  config["model"]["merges"].push_back("h");
  EXPECT_EQ(kind_of(config).first, Error::Kind::kCorruptInput);

  config = testing::tiny_byte_level_tokenizer_json();
  config["normalizer"] = {{"type", "BertNormalizer"}};
  std::tie(kind, message) = kind_of(config);
  EXPECT_EQ(kind, Error::Kind::kUnsupported);
  EXPECT_NE(message.find("BertNormalizer"), std::string::npos);
}

}  // namespace
}  // namespace torchllm::tokenizer::hf
