#include "cli/chat_input.h"

#include <gtest/gtest.h>

namespace torchllm::cli {
namespace {

TEST(MultilineInput, OneLineIsOneInput) {
  MultilineInput input;
  const std::optional<ChatInput> got = input.feed("hello there");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->text, "hello there");
  EXPECT_FALSE(got->literal);
  EXPECT_FALSE(input.continuing());
}

TEST(MultilineInput, BackslashContinues) {
  MultilineInput input;
  EXPECT_FALSE(input.feed("first \\"));
  EXPECT_TRUE(input.continuing());
  EXPECT_FALSE(input.feed("second\\"));
  const std::optional<ChatInput> got = input.feed("third");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->text, "first \nsecond\nthird");
  EXPECT_FALSE(input.continuing());
}

TEST(MultilineInput, TripleQuotedBlockIsLiteral) {
  MultilineInput input;
  EXPECT_FALSE(input.feed("\"\"\"/not a command"));
  EXPECT_TRUE(input.continuing());
  EXPECT_FALSE(input.feed("a line ending in \\"));
  EXPECT_FALSE(input.feed(""));
  const std::optional<ChatInput> got = input.feed("last\"\"\"");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->text, "/not a command\na line ending in \\\n\nlast");
  EXPECT_TRUE(got->literal);
}

TEST(MultilineInput, BareQuotesOpenAndClose) {
  MultilineInput input;
  EXPECT_FALSE(input.feed("\"\"\""));
  EXPECT_FALSE(input.feed("one"));
  EXPECT_FALSE(input.feed("two"));
  const std::optional<ChatInput> got = input.feed("\"\"\"");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->text, "one\ntwo");
}

TEST(MultilineInput, QuotesOnOneLine) {
  MultilineInput input;
  const std::optional<ChatInput> got = input.feed("\"\"\"just this\"\"\"");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->text, "just this");
}

TEST(MultilineInput, SlashCommandTakesABlock) {
  MultilineInput input;
  EXPECT_FALSE(input.feed("/system \"\"\"You are terse."));
  const std::optional<ChatInput> got = input.feed("Answer in French.\"\"\"");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->text, "/system You are terse.\nAnswer in French.");
  EXPECT_FALSE(got->literal);
}

TEST(MultilineInput, QuotesInsideTextAreText) {
  MultilineInput input;
  const std::optional<ChatInput> got = input.feed("he said \"\"\"hi\"\"\" twice");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->text, "he said \"\"\"hi\"\"\" twice");
}

TEST(MultilineInput, ResetDropsAndFinishSends) {
  MultilineInput input;
  EXPECT_FALSE(input.feed("draft \\"));
  input.reset();
  EXPECT_FALSE(input.continuing());
  EXPECT_FALSE(input.finish());
  EXPECT_FALSE(input.feed("\"\"\"open"));
  EXPECT_FALSE(input.feed("block"));
  const std::optional<ChatInput> got = input.finish();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->text, "open\nblock");
}

TEST(MultilineInput, CarriageReturnIsDropped) {
  MultilineInput input;
  const std::optional<ChatInput> got = input.feed("dos line\r");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->text, "dos line");
}

}  // namespace
}  // namespace torchllm::cli
