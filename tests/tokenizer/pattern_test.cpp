#include "tokenizer/hf/pattern.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tokenizer/hf/unicode_categories.h"
#include "tokenizer/utf8.h"
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

// \p{...} follows Unicode 16 (Hugging Face tokenizers' Oniguruma), not the system PCRE2's Unicode 14:
// U+2FFC and U+31EF are So since 15.1, U+1CC00 So and U+16D40 Lm since 16.0, U+2EBF0 Lo since 15.1.
TEST(PatternTest, CategoriesKnowUnicode16) {
  EXPECT_STREQ(unicode_category_version(), "16.0.0");
  EXPECT_EQ(spans_of(Pattern::regex(R"(\p{So}+)"), "a\u2FFC\u31EF\U0001CC00b"), "a[\u2FFC\u31EF\U0001CC00]b");
  EXPECT_EQ(spans_of(Pattern::regex(R"(\p{L}+)"), "x\U00016D40\U0002EBF0 \u2FFC"),
            "[x\U00016D40\U0002EBF0] \u2FFC");
  EXPECT_EQ(spans_of(Pattern::regex(R"([^\s\p{L}\p{N}]+)"), "a\u2FFC\U0002EBF0!"), "a[\u2FFC]\U0002EBF0[!]");
  EXPECT_EQ(spans_of(Pattern::regex(R"(\P{S}+)"), "ab\u2FFCc"), "[ab]\u2FFC[c]");
  EXPECT_EQ(spans_of(Pattern::regex(R"(\p{^S}+)"), "ab\u2FFCc"), "[ab]\u2FFC[c]");
  EXPECT_EQ(spans_of(Pattern::regex(R"(\w+)"), "a\U0002EBF0 \u2FFC"), "[a\U0002EBF0] \u2FFC");
  EXPECT_EQ(spans_of(Pattern::regex(R"(\p{Han}+)"), "a\u4E2D\u6587b"),
            "a[\u4E2D\u6587]b");  // scripts: PCRE2's
}

// \p{X} is written as PCRE2's own \p{X} plus what Unicode added since PCRE2's version where that is exact;
// over every code point it must match what the full list of ranges matches.
TEST(PatternTest, CategoryDeltasMatchTheFullTables) {
  for (const char* name : {"L", "N", "P", "S", "M", "Lo", "So", "Nd", "Mn", "Cn"}) {
    const UnicodeCategory* category = find_unicode_category(name);
    ASSERT_NE(category, nullptr) << name;
    const Pattern fast = Pattern::regex("[" + pcre2_category_items(*category) + "]");
    const Pattern full = Pattern::regex("[" + pcre2_range_items(*category) + "]");
    std::string text;
    for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;
      text.clear();
      append_utf8(text, cp);
      if (fast.find_spans(text).front().is_match != full.find_spans(text).front().is_match) {
        ADD_FAILURE() << name << " differs at U+" << std::hex << static_cast<uint32_t>(cp);
        break;
      }
    }
  }
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
