#include "tokenizer/utf8.h"

#include <gtest/gtest.h>

#include "tokenizer/unicode_text.h"

namespace torchllm::tokenizer {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8Test, ValidTextIsKept) {
  EXPECT_TRUE(is_valid_utf8("h\xC3\xA9llo \xE4\xB8\xAD \xF0\x9F\x98\x80"));
  EXPECT_EQ(to_valid_utf8("h\xC3\xA9llo"), "h\xC3\xA9llo");
  EXPECT_EQ(to_valid_utf8(std::string("a\0b", 3)), std::string("a\0b", 3));
}

// The WHATWG decoder's answers, which Node, Python (errors="replace") and Rust's from_utf8_lossy share.
TEST(Utf8Test, EachMaximalInvalidSubsequenceBecomesOneReplacement) {
  EXPECT_EQ(to_valid_utf8("\xFF"), kFffd);
  EXPECT_EQ(to_valid_utf8("a\x80z"), "a" + kFffd + "z");
  EXPECT_EQ(to_valid_utf8("\xE4\xBD"), kFffd);                      // truncated 3-byte sequence: one
  EXPECT_EQ(to_valid_utf8("\xF0\x9F\x98z"), kFffd + "z");           // truncated 4-byte sequence: one
  EXPECT_EQ(to_valid_utf8("\xC0\xAF"), kFffd + kFffd);              // overlong lead: each byte
  EXPECT_EQ(to_valid_utf8("\xE0\x80\xAF"), kFffd + kFffd + kFffd);  // E0 needs A0..BF next
  EXPECT_EQ(to_valid_utf8("\xED\xA0\x80"), kFffd + kFffd + kFffd);  // surrogate
  EXPECT_EQ(to_valid_utf8("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // above U+10FFFF
  EXPECT_EQ(to_valid_utf8("\xC3\x28"), kFffd + "(");  // the bad byte is read again as a lead
  EXPECT_EQ(to_valid_utf8("\xF8\x88\x80\x80\x80"), kFffd + kFffd + kFffd + kFffd + kFffd);
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));
}

TEST(Utf8Test, CodePointsAreReadBothWays) {
  const std::string text = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80";
  size_t pos = 0;
  EXPECT_EQ(next_code_point(text, pos), U'a');
  EXPECT_EQ(next_code_point(text, pos), U'\u00E9');
  EXPECT_EQ(next_code_point(text, pos), U'\u4E2D');
  EXPECT_EQ(next_code_point(text, pos), U'\U0001F600');
  EXPECT_EQ(pos, text.size());
  size_t start = 0;
  EXPECT_EQ(previous_code_point(text, text.size(), start), U'\U0001F600');
  EXPECT_EQ(start, 6u);
  EXPECT_EQ(utf8_of(U'\U0001F600'), "\xF0\x9F\x98\x80");
}

TEST(UnicodeTextTest, NormalizationForms) {
  EXPECT_EQ(to_nfc("e\xCC\x81"), "\xC3\xA9");  // e + acute -> é
  EXPECT_EQ(to_nfc("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(to_nfc("a\xCC\xA3\xCC\x82"
                   "b"),
            "\xE1\xBA\xAD"
            "b");                                                 // reordered and composed: ậ
  EXPECT_EQ(to_nfc("\xE1\x84\x80\xE1\x85\xA1"), "\xEA\xB0\x80");  // Hangul jamo L + V -> 가
  EXPECT_EQ(to_nfc("\xEA\xB0\x80\xE1\x86\xA8"), "\xEA\xB0\x81");  // LV + T -> 각
  EXPECT_EQ(to_nfc("\xE2\x84\xAB"), "\xC3\x85");                  // Angstrom sign -> Å
  EXPECT_EQ(to_nfc("\xEF\xAC\x81"), "\xEF\xAC\x81");              // ligature ﬁ stays under NFC
  EXPECT_EQ(to_nfkc("\xEF\xAC\x81"), "fi");
  EXPECT_EQ(to_nfkc("\xEF\xBC\xA1\xE2\x91\xA0"), "A1");  // full-width A, circled 1
  EXPECT_EQ(to_nfd("\xC3\xA9"), "e\xCC\x81");
  EXPECT_EQ(to_nfkd("\xEF\xAC\x81"), "fi");
  // Long stable stretches around one change keep their bytes.
  EXPECT_EQ(to_nfc("\xE4\xB8\xAD\xE6\x96\x87 e\xCC\x81 \xE4\xB8\xAD"),
            "\xE4\xB8\xAD\xE6\x96\x87 \xC3\xA9 \xE4\xB8\xAD");
}

TEST(UnicodeTextTest, Lowercase) {
  EXPECT_EQ(to_lowercase("HeLLo \xC3\x89\xCE\xA3"), "hello \xC3\xA9\xCF\x83");
  EXPECT_EQ(to_lowercase("\xC4\xB0"), "i\xCC\x87");  // İ lowercases to two characters
}

TEST(UnicodeTextTest, Properties) {
  EXPECT_TRUE(is_white_space(U'\u0085'));
  EXPECT_TRUE(is_white_space(U'\u3000'));
  EXPECT_FALSE(is_white_space(U'\u180E'));
  EXPECT_FALSE(is_white_space(U'\uFEFF'));
  EXPECT_FALSE(is_white_space(U'\u200B'));
  EXPECT_TRUE(is_numeric(U'\u0663'));  // Arabic-Indic three
  EXPECT_TRUE(is_numeric(U'\u00B2'));  // superscript two (No)
  EXPECT_TRUE(is_punctuation(U'$'));   // ASCII punctuation, though Unicode says Sc
  EXPECT_TRUE(is_punctuation(U'\u3002'));
  EXPECT_FALSE(is_punctuation(U'\u00A9'));
  EXPECT_TRUE(is_word_character(U'\u0301'));
  EXPECT_TRUE(is_word_character(U'_'));
  EXPECT_FALSE(is_word_character(U'-'));
}

}  // namespace
}  // namespace torchllm::tokenizer
