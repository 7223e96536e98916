#include "tokenizer/hf/pattern.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "torchllm/error.h"

namespace torchllm::tokenizer::hf {
namespace {

// The stretches, matched ones in brackets.
std::string spans_of(const Pattern& pattern, const std::string& text) {
  std::string out;
  for (const MatchSpan& span : pattern.find_spans(text)) {
    const std::string part = text.substr(span.start, span.end - span.start);
    out += span.is_match ? "[" + part + "]" : part;
  }
  return out;
}

TEST(PatternTest, LiteralMatchesAreLeftmostAndDoNotOverlap) {
  EXPECT_EQ(spans_of(Pattern::literal("ab"), "aabbab"), "a[ab]b[ab]");
  EXPECT_EQ(spans_of(Pattern::literal("aa"), "aaa"), "[aa]a");
  EXPECT_EQ(spans_of(Pattern::literal(""), "abc"), "abc");
  EXPECT_TRUE(Pattern::literal("x").find_spans("").empty());
}

TEST(PatternTest, RegexSpansCoverTheText) {
  EXPECT_EQ(spans_of(Pattern::regex(R"(\s+)"), "   a   b   "), "[   ]a[   ]b[   ]");
  EXPECT_EQ(spans_of(Pattern::regex(R"(\p{N}{1,3})"), "ab12345c"), "ab[123][45]c");
}

// As the onig crate's find_iter: an empty match right after the previous match is skipped.
TEST(PatternTest, EmptyMatchesFollowOniguruma) {
  EXPECT_EQ(spans_of(Pattern::regex("a*"), "baaac"), "[]b[aaa]c[]");
}

TEST(PatternTest, ClassesHaveOnigurumasMeaning) {
  EXPECT_EQ(spans_of(Pattern::regex(R"(\s)"),
                     "a\xC2\x85"
                     "b\xE1\xA0\x8E"
                     "c"),
            "a[\xC2\x85]b\xE1\xA0\x8E"
            "c");
  EXPECT_EQ(spans_of(Pattern::regex(R"(\S+)"), "ab\xE1\xA0\x8E cd"), "[ab\xE1\xA0\x8E] [cd]");
  EXPECT_EQ(spans_of(Pattern::regex(R"([^\s\p{L}]+)"), "a !? b"), "a [!?] b");
  EXPECT_EQ(spans_of(Pattern::regex(R"(\w+)"), "e\xCC\x81t\xC3\xA9 x\xC2\xB2"),
            "[e\xCC\x81t\xC3\xA9] [x]\xC2\xB2");
  EXPECT_EQ(spans_of(Pattern::regex(R"(\h+)"), "zz0fAz"), "zz[0fA]z");
  EXPECT_EQ(oniguruma_to_pcre2(R"(\\s[\]s])"), R"(\\s[\]s])");
}

TEST(PatternTest, CaseInsensitiveContractionsFoldLikeUnicode) {
  EXPECT_EQ(spans_of(Pattern::regex("(?i:'s|'t)"), "x'S y'\xC5\xBF z'T"), "x['S] y['\xC5\xBF] z['T]");
}

TEST(PatternTest, ReplaceAll) {
  EXPECT_EQ(Pattern::literal(" ").replace_all("a b  c", "\xE2\x96\x81"),
            "a\xE2\x96\x81"
            "b\xE2\x96\x81\xE2\x96\x81"
            "c");
  EXPECT_EQ(Pattern::regex(R"(\s+)").replace_all("This     is   a", " "), "This is a");
  EXPECT_EQ(Pattern::regex("(l)(e)").replace_all("le travail", "$1 $2"), "l e travail");
  EXPECT_EQ(Pattern::regex("(l)(e)").replace_all("le", "${2}${1}$$"), "el$");
}

TEST(PatternTest, FromJson) {
  EXPECT_EQ(spans_of(Pattern::from_json(nlohmann::json::parse(R"({"String": "-"})"), "test"), "a-b"),
            "a[-]b");
  EXPECT_EQ(spans_of(Pattern::from_json(nlohmann::json::parse(R"({"Regex": "\\d"})"), "test"), "a1"), "a[1]");
  EXPECT_THROW(Pattern::from_json(nlohmann::json::parse(R"({"Glob": "*"})"), "test"), Error);
  try {
    Pattern::regex("(unclosed");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("(unclosed"), std::string::npos);
  }
}

}  // namespace
}  // namespace torchllm::tokenizer::hf
