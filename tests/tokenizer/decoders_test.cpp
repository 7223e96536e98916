#include "tokenizer/hf/decoders.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tokenizer/hf/post_processors.h"
#include "torchllm/error.h"

namespace torchllm::tokenizer::hf {
namespace {

std::vector<std::string> decode_chain(const std::string& config, std::vector<std::string> tokens) {
  make_decoder(nlohmann::json::parse(config))->decode_chain(tokens);
  return tokens;
}

using Tokens = std::vector<std::string>;

TEST(DecoderTest, ByteLevel) {
  EXPECT_EQ(decode_chain(R"({"type":"ByteLevel"})", {"Hello", "\xC4\xA0my",
                                                     "\xC4\xA0"
                                                     "friend",
                                                     ","}),
            Tokens{"Hello my friend,"});
  // The bytes of a character split across tokens join up; invalid bytes become U+FFFD.
  EXPECT_EQ(decode_chain(R"({"type":"ByteLevel"})", {"\xC3\xA4", "\xC2\xBD", "\xC5\x82"}),
            Tokens{"\xE4\xBD\xA0"});
  EXPECT_EQ(decode_chain(R"({"type":"ByteLevel"})", {"\xC3\xA4", "a"}), Tokens{"\xEF\xBF\xBD"
                                                                               "a"});
  // A token with characters outside the byte alphabet (an added token) keeps its UTF-8.
  EXPECT_EQ(decode_chain(R"({"type":"ByteLevel"})", {"a", "<\xEF\xBD\x9CUser\xEF\xBD\x9C>"}),
            Tokens{"a<\xEF\xBD\x9CUser\xEF\xBD\x9C>"});
}

TEST(DecoderTest, ByteFallback) {
  const std::string config = R"({"type":"ByteFallback"})";
  EXPECT_EQ(decode_chain(config, {"Hey", "friend!"}), (Tokens{"Hey", "friend!"}));
  EXPECT_EQ(decode_chain(config, {"<0x61>"}), Tokens{"a"});
  EXPECT_EQ(decode_chain(config, {"<0xE5>", "<0x8f>", "<0xab>", "a"}), (Tokens{"\xE5\x8F\xAB", "a"}));
  // A run that is not valid UTF-8 gives one U+FFFD per byte.
  EXPECT_EQ(decode_chain(config, {"<0xE5>", "<0x8F>", "a"}), (Tokens{"\xEF\xBF\xBD", "\xEF\xBF\xBD", "a"}));
  EXPECT_EQ(decode_chain(config, {"<0x0G>"}), Tokens{"<0x0G>"});
}

TEST(DecoderTest, FuseStripReplaceMetaspace) {
  EXPECT_EQ(decode_chain(R"({"type":"Fuse"})", {"Hey", " friend", "!"}), Tokens{"Hey friend!"});
  EXPECT_EQ(decode_chain(R"({"type":"Strip","content":"H","start":1,"stop":0})", {"Hey", " friend!", "HHH"}),
            (Tokens{"ey", " friend!", "HH"}));
  EXPECT_EQ(decode_chain(R"({"type":"Strip","content":"y","start":0,"stop":1})", {"Hey", " friend!"}),
            (Tokens{"He", " friend!"}));
  EXPECT_EQ(decode_chain(R"({"type":"Replace","pattern":{"String":"_"},"content":" "})", {"hello", "_hello"}),
            (Tokens{"hello", " hello"}));
  EXPECT_EQ(decode_chain(R"({"type":"Metaspace","replacement":"\u2581","prepend_scheme":"always"})",
                         {"\xE2\x96\x81Hey",
                          "\xE2\x96\x81"
                          "friend!"}),
            (Tokens{"Hey", " friend!"}));
  EXPECT_EQ(decode_chain(R"({"type":"Metaspace","replacement":"\u2581","prepend_scheme":"never"})",
                         {"\xE2\x96\x81Hey"}),
            Tokens{" Hey"});
}

TEST(DecoderTest, SentencePieceStyleSequence) {
  const std::string config = R"({"type":"Sequence","decoders":[
      {"type":"Replace","pattern":{"String":"\u2581"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},
      {"type":"Strip","content":" ","start":1,"stop":0}]})";
  EXPECT_EQ(decode_chain(config, {"\xE2\x96\x81Hello", "\xE2\x96\x81", "<0xE4>", "<0xBD>", "<0xA0>", "!"}),
            Tokens{"Hello \xE4\xBD\xA0!"});
}

TEST(DecoderTest, UnknownTypesAreNamed) {
  try {
    make_decoder(nlohmann::json::parse(R"({"type":"WordPiece","prefix":"##"})"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("WordPiece"), std::string::npos);
  }
}

TEST(PostProcessorTest, TemplateAddsSpecialTokensOnlyWhenAsked) {
  const auto processor = make_post_processor(nlohmann::json::parse(R"({"type":"Sequence","processors":[
      {"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true},
      {"type":"TemplateProcessing",
       "single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}},
                 {"SpecialToken":{"id":"</s>","type_id":0}}],
       "pair":[{"Sequence":{"id":"A","type_id":0}},{"Sequence":{"id":"B","type_id":1}}],
       "special_tokens":{"<s>":{"id":"<s>","ids":[1],"tokens":["<s>"]},
                         "</s>":{"id":"</s>","ids":[2, 3],"tokens":["</", "s>"]}}}]})"));
  std::vector<TokenId> ids = {10, 11};
  processor->process(ids, true);
  EXPECT_EQ(ids, (std::vector<TokenId>{1, 10, 11, 2, 3}));
  ids = {10, 11};
  processor->process(ids, false);
  EXPECT_EQ(ids, (std::vector<TokenId>{10, 11}));
  EXPECT_THROW(make_post_processor(nlohmann::json::parse(R"({"type":"RobertaProcessing"})")), Error);
}

}  // namespace
}  // namespace torchllm::tokenizer::hf
