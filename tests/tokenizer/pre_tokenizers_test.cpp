#include "tokenizer/hf/pre_tokenizers.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tokenizer/hf/normalizers.h"
#include "torchllm/error.h"

namespace torchllm::tokenizer::hf {
namespace {

std::vector<std::string> pre_tokenize(const std::string& config, const std::string& text,
                                      bool at_origin = true) {
  const auto pre_tokenizer = make_pre_tokenizer(nlohmann::json::parse(config));
  std::vector<TextPiece> pieces;
  pieces.push_back({text, kNoToken, at_origin});
  std::vector<std::string> words;
  for (const TextPiece& piece : pre_tokenizer->pre_tokenize_all(std::move(pieces)))
    words.push_back(piece.text);
  return words;
}

using Words = std::vector<std::string>;

// The example of tokenizers' SplitDelimiterBehavior documentation.
TEST(PreTokenizerTest, SplitBehaviors) {
  auto split = [](const char* behavior) {
    return pre_tokenize(
        std::string(R"({"type":"Split","pattern":{"String":"-"},"invert":false,"behavior":")") + behavior +
            "\"}",
        "the-final--countdown");
  };
  EXPECT_EQ(split("Removed"), (Words{"the", "final", "countdown"}));
  EXPECT_EQ(split("Isolated"), (Words{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(split("MergedWithPrevious"), (Words{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(split("MergedWithNext"), (Words{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(split("Contiguous"), (Words{"the", "-", "final", "--", "countdown"}));
}

// tokenizers' own Split test: a word regex, inverted.
TEST(PreTokenizerTest, SplitInverted) {
  auto split = [](const char* behavior) {
    return pre_tokenize(
        std::string(R"({"type":"Split","pattern":{"Regex":"\\w+|[^\\w\\s]+"},"invert":true,"behavior":")") +
            behavior + "\"}",
        "How are you doing?");
  };
  EXPECT_EQ(split("Removed"), (Words{"How", "are", "you", "doing", "?"}));
  EXPECT_EQ(split("MergedWithPrevious"), (Words{"How ", "are ", "you ", "doing", "?"}));
  EXPECT_EQ(split("MergedWithNext"), (Words{"How", " are", " you", " doing", "?"}));
  EXPECT_EQ(split("Contiguous"), (Words{"How", " ", "are", " ", "you", " ", "doing?"}));
}

TEST(PreTokenizerTest, ByteLevel) {
  EXPECT_EQ(pre_tokenize(R"({"type":"ByteLevel","add_prefix_space":false})", "Hello my friend, how?"),
            (Words{"Hello", "\xC4\xA0my",
                   "\xC4\xA0"
                   "friend",
                   ",", "\xC4\xA0how", "?"}));
  EXPECT_EQ(pre_tokenize(R"({"type":"ByteLevel","add_prefix_space":true,"use_regex":false})", "Hi there\n"),
            (Words{"\xC4\xA0Hi\xC4\xA0there\xC4\x8A"}));
  EXPECT_EQ(pre_tokenize(R"({"type":"ByteLevel","add_prefix_space":false})", "Hello there       dear"),
            (Words{"Hello", "\xC4\xA0there", "\xC4\xA0\xC4\xA0\xC4\xA0\xC4\xA0\xC4\xA0\xC4\xA0",
                   "\xC4\xA0"
                   "dear"}));
  // Every byte of a multi-byte character is a character of its own.
  EXPECT_EQ(pre_tokenize(R"({"type":"ByteLevel","add_prefix_space":false})", "i\xE2\xAD\xA2j"),
            (Words{"i", "\xC3\xA2\xC5\x83\xC2\xA2", "j"}));
}

TEST(PreTokenizerTest, Metaspace) {
  const std::string always =
      R"({"type":"Metaspace","replacement":"\u2581","prepend_scheme":"always","split":true})";
  EXPECT_EQ(pre_tokenize(always, "Hey   friend!"), (Words{"\xE2\x96\x81Hey", "\xE2\x96\x81", "\xE2\x96\x81",
                                                          "\xE2\x96\x81"
                                                          "friend!"}));
  const std::string first =
      R"({"type":"Metaspace","replacement":"\u2581","prepend_scheme":"first","split":false})";
  EXPECT_EQ(pre_tokenize(first, "Hey friend", true), (Words{"\xE2\x96\x81Hey\xE2\x96\x81"
                                                            "friend"}));
  EXPECT_EQ(pre_tokenize(first, "Hey friend", false), (Words{"Hey\xE2\x96\x81"
                                                             "friend"}));
  const std::string never = R"({"type":"Metaspace","replacement":"\u2581","prepend_scheme":"never"})";
  EXPECT_EQ(pre_tokenize(never, "a b"), (Words{"a",
                                               "\xE2\x96\x81"
                                               "b"}));
  // Files from before prepend_scheme existed.
  EXPECT_EQ(pre_tokenize(R"({"type":"Metaspace","replacement":"_","add_prefix_space":true})", "a b"),
            (Words{"_a", "_b"}));
}

TEST(PreTokenizerTest, DigitsPunctuationWhitespace) {
  EXPECT_EQ(pre_tokenize(R"({"type":"Digits","individual_digits":false})", "Hey 123 friend!"),
            (Words{"Hey ", "123", " friend!"}));
  EXPECT_EQ(pre_tokenize(R"({"type":"Digits","individual_digits":true})", "a12\xD9\xA3"),
            (Words{"a", "1", "2", "\xD9\xA3"}));
  EXPECT_EQ(pre_tokenize(R"({"type":"Punctuation"})", "Hey friend!     How are you?!?"),
            (Words{"Hey friend", "!", "     How are you", "?", "!", "?"}));
  EXPECT_EQ(pre_tokenize(R"({"type":"Whitespace"})", "Hey man!"), (Words{"Hey", "man", "!"}));
  EXPECT_EQ(pre_tokenize(R"({"type":"Whitespace"})", "\n"), Words{});
  EXPECT_EQ(pre_tokenize(R"({"type":"WhitespaceSplit"})", "Hey, man,\u3000Good?"),
            (Words{"Hey,", "man,", "Good?"}));
  EXPECT_EQ(pre_tokenize(R"({"type":"CharDelimiterSplit","delimiter":"x"})", "axbxxc"),
            (Words{"a", "b", "c"}));
}

TEST(PreTokenizerTest, SequenceFeedsEachStepThePreviousOnesWords) {
  const std::string config = R"({"type":"Sequence","pretokenizers":[
      {"type":"Split","pattern":{"Regex":"\\p{N}{1,3}"},"behavior":"Isolated","invert":false},
      {"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]})";
  EXPECT_EQ(pre_tokenize(config, "ab 12345"), (Words{"ab\xC4\xA0", "123", "45"}));
}

TEST(PreTokenizerTest, UnknownTypesAreNamed) {
  try {
    make_pre_tokenizer(nlohmann::json::parse(R"({"type":"BertPreTokenizer"})"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("BertPreTokenizer"), std::string::npos);
  }
  EXPECT_EQ(make_pre_tokenizer(nlohmann::json()), nullptr);
}

std::string normalize(const std::string& config, const std::string& text, bool* at_origin = nullptr) {
  TextPiece piece{text, kNoToken, true};
  make_normalizer(nlohmann::json::parse(config))->normalize(piece);
  if (at_origin) *at_origin = piece.at_origin;
  return piece.text;
}

TEST(NormalizerTest, Each) {
  EXPECT_EQ(normalize(R"({"type":"NFC"})", "e\xCC\x81"), "\xC3\xA9");
  EXPECT_EQ(normalize(R"({"type":"NFKC"})", "\xEF\xAC\x81"), "fi");
  EXPECT_EQ(normalize(R"({"type":"NFD"})", "\xC3\xA9"), "e\xCC\x81");
  EXPECT_EQ(normalize(R"({"type":"Lowercase"})", "ABC \xC3\x89"), "abc \xC3\xA9");
  EXPECT_EQ(normalize(R"({"type":"Prepend","prepend":"\u2581"})", "Hey"), "\xE2\x96\x81Hey");
  EXPECT_EQ(normalize(R"({"type":"Prepend","prepend":"\u2581"})", ""), "");
  EXPECT_EQ(normalize(R"({"type":"Replace","pattern":{"String":"''"},"content":"\""})", "a ''test''"),
            "a \"test\"");
  EXPECT_EQ(normalize(R"({"type":"Replace","pattern":{"Regex":"\\s+"},"content":" "})", "a   b"), "a b");
  bool at_origin = true;
  EXPECT_EQ(
      normalize(R"({"type":"Strip","strip_left":true,"strip_right":true})", " \t a b \u3000", &at_origin),
      "a b");
  EXPECT_FALSE(at_origin);
  EXPECT_EQ(normalize(R"({"type":"Strip","strip_left":false,"strip_right":true})", " a ", &at_origin), " a");
  EXPECT_TRUE(at_origin);
  EXPECT_EQ(normalize(R"({"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"\u2581"},
                        {"type":"Replace","pattern":{"String":" "},"content":"\u2581"}]})",
                      "a b"),
            "\xE2\x96\x81"
            "a\xE2\x96\x81"
            "b");
  EXPECT_THROW(make_normalizer(nlohmann::json::parse(R"({"type":"Precompiled"})")), Error);
}

}  // namespace
}  // namespace torchllm::tokenizer::hf
