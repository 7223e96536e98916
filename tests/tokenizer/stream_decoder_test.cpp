#include <gtest/gtest.h>

#include "tiny_tokenizer.h"
#include "tokenizer/hf/hf_tokenizer.h"
#include "tokenizer/utf8.h"

namespace torchllm::tokenizer {
namespace {

std::vector<std::string> chunks(const Tokenizer& tokenizer, const std::vector<TokenId>& ids,
                                bool skip = false) {
  StreamDecoder stream(tokenizer, skip);
  std::vector<std::string> out;
  for (TokenId id : ids) out.push_back(stream.push(id));
  out.push_back(stream.finish());
  return out;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& part : parts) out += part;
  return out;
}

TEST(StreamDecoderTest, ByteLevelEmitsWholeCharactersOnly) {
  const auto tokenizer = hf::make_hf_tokenizer(testing::tiny_byte_level_tokenizer_json());
  const std::vector<TokenId> ids =
      tokenizer->encode("h\xC3\xA9llo \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80!");
  const auto parts = chunks(*tokenizer, ids);
  for (const std::string& part : parts) EXPECT_TRUE(is_valid_utf8(part)) << part;
  EXPECT_EQ(joined(parts), tokenizer->decode(ids));
  // The first byte of "é" alone emits nothing.
  StreamDecoder stream(*tokenizer);
  EXPECT_EQ(stream.push('h'), "h");
  EXPECT_EQ(stream.push(0xC3), "");  // in this vocabulary the id of a byte is its value
  EXPECT_EQ(stream.push(0xA9), "\xC3\xA9");
}

TEST(StreamDecoderTest, IncompleteCharacterAtTheEndBecomesReplacementCharacter) {
  const auto tokenizer = hf::make_hf_tokenizer(testing::tiny_byte_level_tokenizer_json());
  const std::vector<TokenId> ids = {'a', 0xE4, 0xBD};
  const auto parts = chunks(*tokenizer, ids);
  EXPECT_EQ(joined(parts), "a\xEF\xBF\xBD");
  EXPECT_EQ(joined(parts), tokenizer->decode(ids));
  StreamDecoder stream(*tokenizer);
  stream.push(0xE4);
  EXPECT_EQ(stream.finish(), "\xEF\xBF\xBD");
  EXPECT_EQ(stream.push('x'), "x");  // reusable after finish
}

TEST(StreamDecoderTest, SentencePieceSpacesAreNeitherLostNorDoubled) {
  const auto tokenizer = hf::make_hf_tokenizer(testing::tiny_metaspace_tokenizer_json());
  const TokenId hello = *tokenizer->token_to_id("\xE2\x96\x81Hello");
  const TokenId world = *tokenizer->token_to_id("\xE2\x96\x81world");
  const TokenId space = *tokenizer->token_to_id("\xE2\x96\x81");
  EXPECT_EQ(chunks(*tokenizer, {1, hello, world, space, space, world}, true),
            (std::vector<std::string>{"", "Hello", " world", " ", " ", " world", ""}));
  const std::vector<TokenId> ids = {1, hello, world, space, space, world};
  EXPECT_EQ(joined(chunks(*tokenizer, ids)), tokenizer->decode(ids));
  // Skipped and unknown ids change nothing.
  const std::vector<TokenId> noisy = {1, 1, hello, 1, 99999, world, 2};
  EXPECT_EQ(joined(chunks(*tokenizer, noisy, true)), "Hello world");
  EXPECT_EQ(joined(chunks(*tokenizer, noisy)), tokenizer->decode(noisy));
}

// A byte-fallback run is decoded as a whole (invalid runs give one U+FFFD per byte), so it is held back until
// a token that is not a byte.
TEST(StreamDecoderTest, ByteFallbackRunsAreHeldUntilTheyEnd) {
  const auto tokenizer = hf::make_hf_tokenizer(testing::tiny_metaspace_tokenizer_json());
  const TokenId world = *tokenizer->token_to_id("\xE2\x96\x81world");
  auto byte = [](int b) { return static_cast<TokenId>(3 + b); };
  EXPECT_EQ(chunks(*tokenizer, {byte(0xE4), byte(0xBD), byte(0xA0), world}),
            (std::vector<std::string>{"", "", "", "\xE4\xBD\xA0 world", ""}));
  const std::vector<TokenId> broken = {world, byte(0xE4), byte(0xBD), byte(0xA0), byte(0xFF), world};
  EXPECT_EQ(joined(chunks(*tokenizer, broken)), tokenizer->decode(broken));
  EXPECT_EQ(tokenizer->decode(broken), "world\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD world");
}

}  // namespace
}  // namespace torchllm::tokenizer
