#include "engine/stop_matcher.h"

#include <gtest/gtest.h>

namespace torchllm {
namespace {

// Feeds pieces and returns everything emitted, and the matched stop string.
std::pair<std::string, std::string> run(std::vector<std::string> stops,
                                        const std::vector<std::string>& pieces,
                                        std::vector<std::string>* emitted = nullptr) {
  StopMatcher matcher(std::move(stops));
  std::string out;
  for (const std::string& piece : pieces) {
    StopMatcher::Result r = matcher.push(piece);
    out += r.emit;
    if (emitted) emitted->push_back(r.emit);
    if (r.matched) return {out, r.stop};
  }
  out += matcher.finish();
  return {out, ""};
}

TEST(StopMatcher, PassesTextThroughWithoutStops) { EXPECT_EQ(run({}, {"ab", "cd"}).first, "abcd"); }

TEST(StopMatcher, FindsAStopStringAcrossPiecesAndDropsIt) {
  std::vector<std::string> emitted;
  auto [text, stop] = run({"END"}, {"hello E", "N", "D tail"}, &emitted);
  EXPECT_EQ(text, "hello ");
  EXPECT_EQ(stop, "END");
  // Nothing that might still become the stop string is emitted before it is decided.
  EXPECT_EQ(emitted[0], "hello ");
  EXPECT_EQ(emitted[1], "");
}

TEST(StopMatcher, ReleasesHeldTextWhenItStopsMatching) {
  std::vector<std::string> emitted;
  auto [text, stop] = run({"END"}, {"E", "N", "d"}, &emitted);
  EXPECT_EQ(text, "ENd");
  EXPECT_EQ(stop, "");
  EXPECT_EQ(emitted, (std::vector<std::string>{"", "", "ENd"}));
}

TEST(StopMatcher, HeldTextIsReturnedAtTheEnd) {
  auto [text, stop] = run({"###"}, {"a #", "#"});
  EXPECT_EQ(text, "a ##");
  EXPECT_EQ(stop, "");
}

TEST(StopMatcher, EarliestMatchWinsAmongSeveralStops) {
  auto [text, stop] = run({"world", "lo w"}, {"hello world"});
  EXPECT_EQ(text, "hel");
  EXPECT_EQ(stop, "lo w");
}

TEST(StopMatcher, StopInsideOnePieceAndMultibyteText) {
  auto [text, stop] = run({"\xC3\xA9t\xC3\xA9"}, {"un \xC3\xA9", "t\xC3\xA9 chaud"});
  EXPECT_EQ(text, "un ");
  EXPECT_EQ(stop, "\xC3\xA9t\xC3\xA9");
}

TEST(StopMatcher, EmptyStopStringsAreIgnored) { EXPECT_EQ(run({""}, {"abc"}).first, "abc"); }

}  // namespace
}  // namespace torchllm
