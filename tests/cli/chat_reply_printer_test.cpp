#include "cli/chat_reply_printer.h"

#include <gtest/gtest.h>

#include <sstream>
#include <vector>

namespace torchllm::cli {
namespace {

using Reasoning = ReplyPrinter::Reasoning;

std::string print(const std::vector<std::string>& deltas, Reasoning reasoning, bool in_reasoning = false,
                  bool placeholder = false) {
  std::ostringstream out;
  ReplyPrinter printer(out, reasoning, in_reasoning, placeholder);
  for (const std::string& delta : deltas) printer.write(delta);
  printer.finish();
  return out.str();
}

// A model's control characters reach a terminal as pictures: ESC, SO, CR, DEL and C1's CSI (U+009B) would
// otherwise clear the screen, switch the character set or move the cursor.
TEST(ReplyPrinter, ControlCharactersAreShownAsPicturesOnATerminal) {
  const std::string reply =
      "a\033[2Jb\016c\td\re\177f\xC2\x9B"
      "1mg\n\xC3\xA9";
  std::ostringstream terminal;
  ReplyPrinter printer(terminal, Reasoning::kPlain, false, false, /*terminal=*/true);
  printer.write(reply);
  printer.finish();
  EXPECT_EQ(terminal.str(),
            "a\u241B[2Jb\u240Ec\td\u240De\u2421f\uFFFD"
            "1mg\n\u00E9");
  EXPECT_TRUE(printer.at_line_start() == false);
  // Not a terminal (a pipe, a file): the reply as generated.
  EXPECT_EQ(print({reply}, Reasoning::kPlain), reply);
}

TEST(ReplyPrinter, PlainIsUnchanged) {
  EXPECT_EQ(print({"<thi", "nk>x</th", "ink>\n\nanswer"}, Reasoning::kPlain), "<think>x</think>\n\nanswer");
}

TEST(ReplyPrinter, DimsReasoningSplitAcrossDeltas) {
  EXPECT_EQ(print({"<", "think>", "a", "b</", "think>", "\n\nanswer"}, Reasoning::kDim),
            "\033[2m<think>\033[0m\033[2ma\033[0m\033[2mb\033[0m\033[2m</think>\033[0m\n\nanswer");
}

TEST(ReplyPrinter, HidesReasoningAndTheBlankLinesAfterIt) {
  EXPECT_EQ(print({"<think>\nsecret", " plans\n</thi", "nk>\n", "\n", "Hello", " there"}, Reasoning::kHide),
            "Hello there");
}

TEST(ReplyPrinter, TemplateOpenedReasoning) {
  EXPECT_EQ(print({"still thinking</think>\n\nDone"}, Reasoning::kHide, /*in_reasoning=*/true), "Done");
  EXPECT_EQ(print({"t</think>A"}, Reasoning::kDim, /*in_reasoning=*/true),
            "\033[2mt\033[0m\033[2m</think>\033[0mA");
}

TEST(ReplyPrinter, PlaceholderIsErased) {
  EXPECT_EQ(print({"<think>hm</think>\n\nYes"}, Reasoning::kHide, false, /*placeholder=*/true),
            "\033[2mthinking...\033[0m\r\033[KYes");
  // A reply that ends while thinking (Ctrl-C) erases it too.
  EXPECT_EQ(print({"<think>hm"}, Reasoning::kHide, false, true), "\033[2mthinking...\033[0m\r\033[K");
}

TEST(ReplyPrinter, PartialTagAtTheEndIsText) {
  EXPECT_EQ(print({"a <thi"}, Reasoning::kHide), "a <thi");
  EXPECT_EQ(print({"1 < 2"}, Reasoning::kDim), "1 < 2");
}

TEST(ReplyPrinter, TracksLineStart) {
  std::ostringstream out;
  ReplyPrinter printer(out, Reasoning::kDim, false);
  EXPECT_TRUE(printer.at_line_start());
  printer.write("text");
  EXPECT_FALSE(printer.at_line_start());
  printer.write("<think>x\n");
  EXPECT_TRUE(printer.at_line_start());
  printer.finish();
}

}  // namespace
}  // namespace torchllm::cli
