#include "tokenizer/hf/bpe_model.h"

#include <gtest/gtest.h>

#include <random>

#include "torchllm/error.h"

namespace torchllm::tokenizer::hf {
namespace {

using Merges = std::vector<std::pair<std::string, std::string>>;

BpeModel make_model(const std::vector<std::pair<std::string, TokenId>>& vocab, const Merges& merges,
                    BpeOptions options = {}) {
  TokenTable table;
  for (const auto& [token, id] : vocab) table.insert(token, id);
  return BpeModel(std::move(table), merges, std::move(options));
}

std::vector<TokenId> tokenize(const BpeModel& model, const std::string& word) {
  std::vector<TokenId> ids;
  model.tokenize(word, ids);
  return ids;
}

// tokenizers' own tests (models/bpe/model.rs).
TEST(BpeModelTest, MergesInRankOrder) {
  const BpeModel model = make_model({{"u", 0},
                                     {"n", 1},
                                     {"r", 2},
                                     {"e", 3},
                                     {"l", 4},
                                     {"a", 5},
                                     {"t", 6},
                                     {"d", 7},
                                     {"re", 8},
                                     {"at", 9},
                                     {"ed", 10},
                                     {"un", 11},
                                     {"ated", 12},
                                     {"rel", 13},
                                     {"related", 14},
                                     {"unrelated", 15}},
                                    {{"r", "e"},
                                     {"a", "t"},
                                     {"e", "d"},
                                     {"u", "n"},
                                     {"at", "ed"},
                                     {"re", "l"},
                                     {"rel", "ated"},
                                     {"un", "related"}});
  EXPECT_EQ(tokenize(model, "unrelated"), std::vector<TokenId>{15});
  EXPECT_EQ(tokenize(model, "unrelated"), std::vector<TokenId>{15});  // from the cache
  EXPECT_EQ(tokenize(model, "tad"), (std::vector<TokenId>{6, 5, 7}));
}

TEST(BpeModelTest, UnknownCharacters) {
  BpeOptions not_fused;
  not_fused.unk_token = "<unk>";
  const BpeModel model = make_model({{"<unk>", 0}, {"a", 1}, {"b", 2}}, {}, not_fused);
  EXPECT_EQ(tokenize(model, "c"), std::vector<TokenId>{0});
  EXPECT_EQ(tokenize(model, "cc"), (std::vector<TokenId>{0, 0}));
  EXPECT_EQ(tokenize(model, "accb"), (std::vector<TokenId>{1, 0, 0, 2}));

  BpeOptions fused = not_fused;
  fused.fuse_unk = true;
  const BpeModel fusing = make_model({{"<unk>", 0}, {"a", 1}, {"b", 2}}, {}, fused);
  EXPECT_EQ(tokenize(fusing, "cc"), std::vector<TokenId>{0});
  EXPECT_EQ(tokenize(fusing, "accb"), (std::vector<TokenId>{1, 0, 2}));

  // Without unk_token, unknown characters are dropped.
  const BpeModel dropping = make_model({{"a", 1}}, {});
  EXPECT_EQ(tokenize(dropping, "xax"), std::vector<TokenId>{1});
}

TEST(BpeModelTest, ByteFallback) {
  BpeOptions options;
  options.unk_token = "<unk>";
  options.byte_fallback = true;
  const BpeModel model = make_model({{"<unk>", 0}, {"<0x61>", 1}, {"<0xC3>", 2}, {"<0xA9>", 3}}, {}, options);
  EXPECT_EQ(tokenize(model, "c"), std::vector<TokenId>{0});  // no <0x63>: unk
  EXPECT_EQ(tokenize(model, "a"), std::vector<TokenId>{1});
  EXPECT_EQ(tokenize(model, "\xC3\xA9"), (std::vector<TokenId>{2, 3}));
}

TEST(BpeModelTest, IgnoreMergesTakesWholeWordsFromTheVocabulary) {
  const std::vector<std::pair<std::string, TokenId>> vocab = {{".:.:", 0},
                                                              {"\xC4\xA0"
                                                               "belirtilen",
                                                               1},
                                                              {".", 2},
                                                              {":", 3},
                                                              {"bel", 4},
                                                              {"irtilen", 5},
                                                              {"\xC4\xA0", 6},
                                                              {".:", 7},
                                                              {"belirtilen", 8},
                                                              {".:.", 9},
                                                              {"be", 10},
                                                              {"l", 11},
                                                              {"ir", 12},
                                                              {"ti", 13},
                                                              {"en", 14},
                                                              {"irtil", 15},
                                                              {"irti", 16},
                                                              {"i", 17},
                                                              {"r", 18},
                                                              {"t", 19},
                                                              {"b", 20},
                                                              {"e", 21},
                                                              {"n", 22}};
  const Merges merges = {{".", ":"}, {"b", "e"},   {"be", "l"}, {"i", "r"},
                         {"t", "i"}, {"ir", "ti"}, {"e", "n"},  {"irti", "l"}};
  BpeOptions options;
  options.ignore_merges = true;
  const BpeModel ignoring = make_model(vocab, merges, options);
  EXPECT_EQ(tokenize(ignoring, ".:.:"), std::vector<TokenId>{0});
  EXPECT_EQ(tokenize(ignoring,
                     "\xC4\xA0"
                     "belirtilen"),
            std::vector<TokenId>{1});
  const BpeModel merging = make_model(vocab, merges);
  EXPECT_EQ(tokenize(merging, ".:.:"), (std::vector<TokenId>{7, 7}));
  EXPECT_EQ(tokenize(merging,
                     "\xC4\xA0"
                     "belirtilen"),
            (std::vector<TokenId>{6, 4, 15, 14}));
}

TEST(BpeModelTest, ContinuingSubwordPrefix) {
  BpeOptions options;
  options.continuing_subword_prefix = "##";
  options.unk_token = "[UNK]";
  const BpeModel model = make_model({{"a", 0}, {"##b", 1}, {"##c", 2}, {"ab", 3}, {"abc", 4}, {"[UNK]", 5}},
                                    {{"a", "##b"}, {"ab", "##c"}}, options);
  EXPECT_EQ(tokenize(model, "ab"), std::vector<TokenId>{3});
  EXPECT_EQ(tokenize(model, "abc"), std::vector<TokenId>{4});
}

TEST(BpeModelTest, MergesOutsideTheVocabularyAreRejected) {
  EXPECT_THROW(make_model({{"a", 0}, {"b", 1}}, {{"a", "b"}}), Error);
  EXPECT_THROW(make_model({{"a", 0}, {"ab", 1}}, {{"a", "d"}}), Error);
}

// The scan used for short words, the queue used for long ones, and the cutting of long words where no token
// spans two neighbouring characters ("d" never merges) agree with a plain reference on random words.
TEST(BpeModelTest, ShortAndLongWordsMergeAlike) {
  std::vector<std::pair<std::string, TokenId>> vocab = {{"a", 0}, {"b", 1}, {"c", 2}, {"d", 3}};
  Merges merges;
  std::mt19937 random(7);
  for (int i = 0; i < 60; ++i) {
    const std::string left = vocab[random() % vocab.size()].first;
    const std::string right = vocab[random() % vocab.size()].first;
    if (left == "d" || right == "d") continue;
    const std::string merged = left + right;
    bool known = false;
    for (const auto& entry : vocab) known = known || entry.first == merged;
    if (known || merged.size() > 6) continue;
    vocab.emplace_back(merged, static_cast<TokenId>(vocab.size()));
    merges.emplace_back(left, right);
  }
  const BpeModel model = make_model(vocab, merges);
  auto reference = [&](const std::string& word) {
    std::vector<std::string> symbols;
    for (char c : word) symbols.emplace_back(1, c);
    for (;;) {
      size_t best = 0, best_rank = SIZE_MAX;
      for (size_t i = 0; i + 1 < symbols.size(); ++i) {
        for (size_t r = 0; r < merges.size() && r < best_rank; ++r) {
          if (merges[r].first == symbols[i] && merges[r].second == symbols[i + 1]) {
            best = i;
            best_rank = r;
          }
        }
      }
      if (best_rank == SIZE_MAX) break;
      symbols[best] += symbols[best + 1];
      symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(best) + 1);
    }
    std::vector<TokenId> ids;
    for (const std::string& s : symbols) ids.push_back(*model.vocab().find(s));
    return ids;
  };
  for (int length : {2, 5, 31, 32, 33, 64, 300}) {
    for (int trial = 0; trial < 20; ++trial) {
      std::string word;
      for (int i = 0; i < length; ++i) word += static_cast<char>('a' + random() % 4);
      EXPECT_EQ(tokenize(model, word), reference(word)) << word;
    }
  }
}

}  // namespace
}  // namespace torchllm::tokenizer::hf
