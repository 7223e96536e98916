// The GBNF parser and the byte-level matcher: syntax, errors with positions, UTF-8 classes across token
// boundaries, and the trie-walked token mask against the token-by-token answer.
#include "torchllm/grammar.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "torchllm/error.h"
#include "torchllm/sampler.h"

namespace torchllm {
namespace {

// A vocabulary of every single byte: a matcher over it is a matcher over bytes.
std::shared_ptr<const TokenTrie> byte_trie() {
  std::vector<std::string> bytes;
  for (int b = 0; b < 256; ++b) bytes.emplace_back(1, static_cast<char>(b));
  bytes.emplace_back();  // 256: an end token
  return std::make_shared<TokenTrie>(bytes, std::vector<int64_t>{256});
}

// Whether `text` is a complete sentence of the grammar.
bool matches(const std::string& gbnf, const std::string& text) {
  GrammarMatcher m(Grammar::from_gbnf(gbnf), byte_trie());
  return m.accept_bytes(text) && m.can_end();
}

// Whether `text` can still be continued into a sentence.
bool prefix_ok(const std::string& gbnf, const std::string& text) {
  GrammarMatcher m(Grammar::from_gbnf(gbnf), byte_trie());
  return m.accept_bytes(text);
}

std::string error_of(const std::string& gbnf) {
  try {
    Grammar::from_gbnf(gbnf);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument);
    return e.what();
  }
  return "";
}

TEST(Gbnf, LiteralsAlternativesAndGroups) {
  const std::string g = "root ::= \"a\" (\"b\" | \"cd\") tail\ntail ::= \"!\" | \"\"\n";
  EXPECT_TRUE(matches(g, "ab!"));
  EXPECT_TRUE(matches(g, "acd"));
  EXPECT_FALSE(matches(g, "ac"));
  EXPECT_TRUE(prefix_ok(g, "ac"));
  EXPECT_FALSE(prefix_ok(g, "ax"));
  EXPECT_FALSE(matches(g, "ab!!"));
}

TEST(Gbnf, Repetitions) {
  const std::string g =
      "root ::= [0-9]+ \"-\"? [a-c]* x{2,3} y{2} z{1,}\nx ::= \"x\"\ny ::= \"y\"\nz ::= \"z\"\n";
  EXPECT_TRUE(matches(g, "1xxyyz"));
  EXPECT_TRUE(matches(g, "123-abcxxxyyzzz"));
  EXPECT_FALSE(matches(g, "xxyyz"));
  EXPECT_FALSE(matches(g, "1xyyz"));
  EXPECT_FALSE(matches(g, "1xxxxyyz"));
  EXPECT_FALSE(matches(g, "1xxyz"));
  EXPECT_FALSE(matches(g, "1xxyy"));
}

TEST(Gbnf, EscapesCommentsAndMultilineGroups) {
  const std::string g =
      "# a comment\nroot ::= \"\\x41\\u00e9\\n\" (  # inside\n  \"\\\"\" |\n  [\\]\\\\]\n) \".\"\n";
  EXPECT_TRUE(matches(g, "A\xC3\xA9\n\"."));
  EXPECT_TRUE(matches(g, "A\xC3\xA9\n]."));
  EXPECT_TRUE(matches(g, "A\xC3\xA9\n\\."));
}

TEST(Gbnf, CharacterClassesAreUtf8) {
  const std::string g = "root ::= [α-ω]+ [^a-z] .\n";
  EXPECT_TRUE(matches(g, "αβγ!x"));
  EXPECT_TRUE(matches(g, "ω\xE2\x82\xAC\xF0\x9F\x98\x80"));  // ω € 😀
  EXPECT_FALSE(matches(g, "αa!"));
  EXPECT_TRUE(prefix_ok(g, "\xCE"));           // the first byte of a Greek letter
  EXPECT_FALSE(prefix_ok(g, "\xCE\x80"));      // π is U+03C0, not U+0380
  EXPECT_FALSE(prefix_ok(g, "\xED\xA0\x80"));  // a surrogate: not UTF-8
}

TEST(Gbnf, ErrorsSayWhere) {
  EXPECT_NE(error_of("root ::= \"a\" foo\n").find("rule 'foo' is not defined"), std::string::npos);
  EXPECT_NE(error_of("foo ::= \"a\"\n").find("no 'root' rule"), std::string::npos);
  EXPECT_NE(error_of("root ::= \"a\nb\"\n").find("line 1, column"), std::string::npos);
  EXPECT_NE(error_of("root ::= \"a\"\nroot ::= \"b\"\n").find("defined twice"), std::string::npos);
  EXPECT_NE(error_of("root ::= [a-\n").find("line 1"), std::string::npos);
  EXPECT_NE(error_of("root ::= x \"a\"\nx ::= root | \"b\"\n").find("left-recursive"), std::string::npos);
  EXPECT_NE(error_of("root ::= (\"\")* \"a\"\n").find("left-recursive"), std::string::npos);
  EXPECT_NE(error_of("root ::= * \"a\"\n").find("must follow"), std::string::npos);
  EXPECT_NE(error_of("root ::= \"a\"{3,1}\n").find("n < m"), std::string::npos);
  EXPECT_NE(error_of("root ::= \"\\q\"\n").find("unknown escape"), std::string::npos);
}

TEST(Gbnf, RecursionKeepsMatching) {
  // Balanced parentheses, nested 200 deep, and a tail-recursive list 10000 long.
  const std::string g = "root ::= p list\np ::= \"(\" p \")\" | \"\"\nlist ::= \"x\" list | \"\"\n";
  const std::string nested = std::string(200, '(') + std::string(200, ')');
  EXPECT_TRUE(matches(g, nested + std::string(10000, 'x')));
  EXPECT_FALSE(matches(g, std::string(200, '(') + std::string(199, ')')));
}

TEST(GrammarMatcher, EndTokenOnlyWhenComplete) {
  auto trie = byte_trie();
  GrammarMatcher m(Grammar::from_gbnf("root ::= \"ab\" \"c\"?\n"), trie);
  std::vector<uint8_t> mask(300);
  m.fill_mask(mask.data(), 300);
  EXPECT_EQ(mask['a'], 1);
  EXPECT_EQ(mask['b'], 0);
  EXPECT_EQ(mask[256], 0);
  EXPECT_EQ(mask[299], 0);
  m.accept_token('a');
  m.accept_token('b');
  EXPECT_TRUE(m.can_end());
  EXPECT_FALSE(m.finished());
  m.fill_mask(mask.data(), 300);
  EXPECT_EQ(mask['c'], 1);
  EXPECT_EQ(mask[256], 1);
  EXPECT_THROW(m.accept_token('x'), Error);
  m.accept_token('c');
  EXPECT_TRUE(m.finished());
  m.accept_token(256);
  m.fill_mask(mask.data(), 300);
  for (uint8_t v : mask) EXPECT_EQ(v, 0);
}

// The trie walk gives, for every state met along random outputs, exactly the tokens that accept_bytes takes
// one by one.
TEST(GrammarMatcher, TrieMaskEqualsTokenByTokenAnswer) {
  std::mt19937 random(7);
  std::vector<std::string> vocab = {"{",    "}",    "\"",   "\"a",      "a",   "ab",  "abc",   "b\"", ":",
                                    ",",    " ",    "  ",   "1",        "12",  "-",   "true",  "tr",  "ue",
                                    "null", "\xCE", "\xB1", "\xCE\xB1", "é\"", "\"}", "\":",   "{\"", "[",
                                    "]",    "[1",   ",\"",  "x",        "\\",  "\\n", "\\u00", "c"};
  vocab.emplace_back();  // an end token
  const int64_t end = static_cast<int64_t>(vocab.size()) - 1;
  auto trie = std::make_shared<TokenTrie>(vocab, std::vector<int64_t>{end});
  auto grammar = Grammar::from_gbnf(json_schema_to_gbnf(nlohmann::ordered_json::parse(
      R"({"type":"object","properties":{"a":{"type":"string"},"b":{"type":"array","items":{"type":"integer"}},
          "c":{"enum":[true,null,"αb"]}},"required":["a"]})")));
  for (int run = 0; run < 50; ++run) {
    GrammarMatcher m(grammar, trie);
    std::string output;
    for (int step = 0; step < 40 && !m.finished(); ++step) {
      std::vector<uint8_t> mask(vocab.size());
      m.fill_mask(mask.data(), static_cast<int64_t>(mask.size()));
      std::vector<int64_t> allowed;
      for (int64_t id = 0; id < static_cast<int64_t>(vocab.size()); ++id) {
        const bool expected = id == end ? m.can_end() : m.can_accept(vocab[static_cast<size_t>(id)]);
        EXPECT_EQ(mask[static_cast<size_t>(id)] != 0, expected)
            << "token '" << vocab[static_cast<size_t>(id)] << "'";
        if (mask[static_cast<size_t>(id)]) allowed.push_back(id);
      }
      ASSERT_FALSE(allowed.empty()) << "a state with no way on after " << output;
      const int64_t pick = allowed[random() % allowed.size()];
      output += vocab[static_cast<size_t>(pick)];
      m.accept_token(pick);
    }
  }
}

// A grammar after a thought: bytes 0..255, 256 an end token, 257 <think> and 258 </think> (no bytes).
class GrammarAfterThought : public ::testing::Test {
 protected:
  static constexpr int64_t kEnd = 256, kOpen = 257, kClose = 258, kVocab = 259;
  std::shared_ptr<const TokenTrie> trie() const {
    std::vector<std::string> tokens;
    for (int b = 0; b < 256; ++b) tokens.emplace_back(1, static_cast<char>(b));
    tokens.resize(kVocab);
    return std::make_shared<TokenTrie>(tokens, std::vector<int64_t>{kEnd});
  }
  std::unique_ptr<SequenceSampler> sampler(std::optional<ThoughtTokens> thought) const {
    SamplingParams greedy;
    greedy.temperature = 0;
    auto s = std::make_unique<SequenceSampler>(greedy, c10::kCPU, kVocab, std::vector<int64_t>{});
    s->constrain(std::make_unique<GrammarMatcher>(Grammar::from_gbnf("root ::= \"yes\" | \"no\""), trie()),
                 thought);
    return s;
  }
  // Greedy over logits that rank `order` first, second, ...
  static int64_t pick(SequenceSampler& s, const std::vector<int64_t>& order) {
    at::Tensor logits = at::zeros({1, kVocab});
    for (size_t i = 0; i < order.size(); ++i) logits[0][order[i]] = 10.0 - static_cast<double>(i);
    return sample_batch(logits, {&s})[0].token;
  }
};

TEST_F(GrammarAfterThought, AThoughtIsFreeAndTheAnswerFollowsTheGrammar) {
  auto s = sampler(ThoughtTokens{kOpen, kClose, false});
  EXPECT_TRUE(s->constrained_now());
  EXPECT_EQ(s->grammar(), nullptr);  // not yet: the reply may open a thought
  EXPECT_EQ(pick(*s, {'x', kOpen, 'y'}), kOpen);
  EXPECT_FALSE(s->constrained_now());
  EXPECT_EQ(pick(*s, {'x', 'y'}), 'x');  // free inside the thought
  EXPECT_EQ(pick(*s, {kEnd, 'q'}), kEnd);
  EXPECT_EQ(pick(*s, {kClose, 'n'}), kClose);
  ASSERT_NE(s->grammar(), nullptr);
  EXPECT_EQ(pick(*s, {'x', kOpen, 'n'}), 'n');  // the grammar now, and no second thought
  EXPECT_EQ(pick(*s, {'x', 'o'}), 'o');
  EXPECT_TRUE(s->grammar()->finished());
}

TEST_F(GrammarAfterThought, AReplyWithoutAThoughtIsConstrainedFromItsFirstToken) {
  auto s = sampler(ThoughtTokens{kOpen, kClose, false});
  EXPECT_EQ(pick(*s, {'x', 'y', kOpen}), 'y');
  ASSERT_NE(s->grammar(), nullptr);
  EXPECT_EQ(pick(*s, {kOpen, 'x', 'e'}), 'e');
  // A prompt that opened the thought: free until </think>.
  auto started = sampler(ThoughtTokens{kOpen, kClose, true});
  EXPECT_FALSE(started->constrained_now());
  EXPECT_EQ(pick(*started, {'x'}), 'x');
  EXPECT_EQ(pick(*started, {kClose}), kClose);
  EXPECT_EQ(pick(*started, {'x', 'n'}), 'n');
  // Without thought tokens the grammar holds from the start, as before.
  auto plain = sampler(std::nullopt);
  EXPECT_EQ(pick(*plain, {kOpen, 'x', 'n'}), 'n');
}

// A row whose grammar no token can continue (here "c" over a vocabulary of "a" and "b") is reported alone;
// the other rows of the batch are sampled as if it were not there.
TEST(GrammarRows, AStuckGrammarFailsItsOwnRowOnly) {
  SamplingParams greedy;
  greedy.temperature = 0;
  auto trie = std::make_shared<TokenTrie>(std::vector<std::string>{"a", "b", ""}, std::vector<int64_t>{2});
  SequenceSampler stuck(greedy, c10::kCPU, 3, {});
  stuck.constrain(std::make_unique<GrammarMatcher>(Grammar::from_gbnf("root ::= \"c\""), trie));
  SequenceSampler free_row(greedy, c10::kCPU, 3, {});
  SequenceSampler bound(greedy, c10::kCPU, 3, {});
  bound.constrain(std::make_unique<GrammarMatcher>(Grammar::from_gbnf("root ::= \"b\""), trie));
  const at::Tensor logits = at::tensor({0.0f, 5.0f, 1.0f, 3.0f, 1.0f, 2.0f, 4.0f, 0.0f, 1.0f}).view({3, 3});
  const std::vector<SampledToken> out = sample_batch(logits, {&free_row, &stuck, &bound});
  EXPECT_EQ(out[0].token, 1);
  EXPECT_EQ(out[1].token, -1);
  EXPECT_NE(out[1].error.find("grammar allows no token"), std::string::npos) << out[1].error;
  EXPECT_EQ(out[2].token, 1);  // "b", though "a" has the larger logit
}

}  // namespace
}  // namespace torchllm
