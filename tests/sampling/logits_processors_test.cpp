#include "sampling/logits_processors.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace torchllm {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// [rows, vocab] float32 from nested lists.
at::Tensor matrix(const std::vector<std::vector<float>>& rows) {
  std::vector<at::Tensor> list;
  for (const auto& r : rows) list.push_back(at::tensor(at::ArrayRef<float>(r), at::kFloat));
  return at::stack(list);
}

// Logits whose softmax is exactly the given distribution (up to rounding).
at::Tensor log_of(const std::vector<std::vector<float>>& probs) { return matrix(probs).log(); }

at::Tensor column(const std::vector<float>& v) {
  return at::tensor(at::ArrayRef<float>(v), at::kFloat).view({-1, 1});
}
at::Tensor int_column(const std::vector<int64_t>& v) {
  return at::tensor(at::ArrayRef<int64_t>(v), at::kLong).view({-1, 1});
}

// Which tokens of each row survived: 1 where the logit is finite.
std::vector<std::vector<int>> kept(const at::Tensor& logits) {
  std::vector<std::vector<int>> out(logits.size(0));
  const at::Tensor finite = logits.isfinite();
  for (int64_t i = 0; i < logits.size(0); ++i)
    for (int64_t j = 0; j < logits.size(1); ++j) out[i].push_back(finite[i][j].item<bool>() ? 1 : 0);
  return out;
}

// The same for candidates, by token id over a vocabulary of `vocab`.
std::vector<std::vector<int>> kept(const Candidates& c, int64_t vocab) {
  std::vector<std::vector<int>> out(c.logits.size(0), std::vector<int>(vocab, 0));
  for (int64_t i = 0; i < c.logits.size(0); ++i)
    for (int64_t j = 0; j < c.logits.size(1); ++j)
      if (std::isfinite(c.logits[i][j].item<float>())) out[i][c.ids[i][j].item<int64_t>()] = 1;
  return out;
}

// Survivors keep their logits bit for bit and stay in candidate order; the rest are -inf.
void expect_only_masked(const at::Tensor& logits, const Candidates& c) {
  const at::Tensor finite = c.logits.isfinite();
  EXPECT_TRUE(at::equal(c.logits.masked_select(finite), logits.gather(1, c.ids).masked_select(finite)));
  EXPECT_TRUE(c.logits.masked_select(finite.logical_not()).eq(-kInf).all().item<bool>());
}

// Sorts, then applies top_k and top_p as the sampler's sorted path does.
Candidates sorted_top_k_top_p(const at::Tensor& logits, const std::vector<int64_t>& k,
                              const std::vector<float>& p) {
  Candidates c = sort_candidates(logits);
  apply_top_k(c.logits, int_column(k));
  apply_top_p(c.logits, column(p));
  expect_only_masked(logits, c);
  return c;
}

TEST(LogitsProcessors, SortedCandidatesBreakTiesByLowerId) {
  const Candidates c = sort_candidates(matrix({{1, 3, 1, 3, 2}}));
  EXPECT_TRUE(at::equal(c.ids, at::tensor({1, 3, 4, 0, 2}, at::kLong).view({1, 5})));
  EXPECT_TRUE(at::equal(c.logits, matrix({{3, 3, 2, 1, 1}})));
}

TEST(LogitsProcessors, TopKKeepsExactlyKWithTiesToTheLowerIds) {
  const at::Tensor x =
      matrix({{1, 4, 2, 3, 0}, {1, 4, 2, 3, 0}, {1, 4, 2, 3, 0}, {1, 4, 2, 3, 0}, {5, 1, 5, 0, 5}});
  const Candidates sorted = sorted_top_k_top_p(x, {2, 0, 10, 1, 2}, {1, 1, 1, 1, 1});
  EXPECT_EQ(kept(sorted, 5), (std::vector<std::vector<int>>{
                                 {0, 1, 0, 1, 0},
                                 {1, 1, 1, 1, 1},  // 0: off
                                 {1, 1, 1, 1, 1},  // more than the vocabulary: off
                                 {0, 1, 0, 0, 0},
                                 {1, 0, 1, 0, 0},  // three tied for the top two places: the lower ids
                             }));
}

TEST(LogitsProcessors, SelectedTopKMatchesTheSortedOne) {
  // Row 2: 49 tokens tied for the last four places, so the selection has to settle ties itself.
  at::Tensor x = at::zeros({3, 50});
  x[0] = at::randn({50}, at::detail::createCPUGenerator(1));
  x[1] = x[0];
  x[2][7] = 1;
  x[2][40] = -kInf;
  const std::vector<int64_t> k = {5, 1, 5};
  const Candidates selected = top_k_candidates(x, int_column(k), 5);
  expect_only_masked(x, selected);
  EXPECT_EQ(selected.logits.size(1), 5);
  EXPECT_EQ(kept(selected, 50), kept(sorted_top_k_top_p(x, k, {1, 1, 1}), 50));
  EXPECT_TRUE(at::equal(selected.ids[2], at::tensor({7, 0, 1, 2, 3}, at::kLong)));
  EXPECT_EQ(kept(selected, 50)[1], kept(sorted_top_k_top_p(x.narrow(0, 0, 1), {1}, {1}), 50)[0]);
  // A row's places past its own k are -inf, in candidate order.
  EXPECT_TRUE(selected.logits[1].narrow(0, 1, 4).eq(-kInf).all().item<bool>());
  EXPECT_TRUE(at::equal(selected.logits[0], std::get<0>(x[0].topk(5))));
}

TEST(LogitsProcessors, TopPKeepsTheSmallestPrefixThatReachesP) {
  // Sorted: 0.5 (id 2), 0.3 (id 0), 0.15 (id 3), 0.05 (id 1); the mass before each: 0, 0.5, 0.8, 0.95.
  const std::vector<float> probs = {0.3f, 0.05f, 0.5f, 0.15f};
  const at::Tensor x = log_of({probs, probs, probs, probs, probs, probs, probs});
  const Candidates c =
      sorted_top_k_top_p(x, {0, 0, 0, 0, 0, 0, 0}, {0.4f, 0.51f, 0.79f, 0.81f, 0.94f, 0.96f, 1.0f});
  EXPECT_EQ(kept(c, 4), (std::vector<std::vector<int>>{
                            {0, 0, 1, 0},  // one token always stays, even when it alone passes p
                            {1, 0, 1, 0},
                            {1, 0, 1, 0},
                            {1, 0, 1, 1},
                            {1, 0, 1, 1},
                            {1, 1, 1, 1},
                            {1, 1, 1, 1},  // 1: off
                        }));
}

TEST(LogitsProcessors, TopPBreaksTiesTowardsTheLowerId) {
  const Candidates c = sorted_top_k_top_p(log_of({{0.4f, 0.2f, 0.4f}}), {0}, {0.3f});
  EXPECT_EQ(kept(c, 3), (std::vector<std::vector<int>>{{1, 0, 0}}));
}

TEST(LogitsProcessors, TopPSeesTheDistributionTopKLeft) {
  // After top_k 3 the kept probabilities are 0.5, 0.3, 0.15 over 0.95: the mass before the third is 0.842, so
  // top_p 0.83 drops it; over the whole distribution (0.8) it would have stayed.
  const std::vector<float> probs = {0.5f, 0.3f, 0.15f, 0.05f};
  const Candidates c = sorted_top_k_top_p(log_of({probs, probs}), {3, 0}, {0.83f, 0.83f});
  EXPECT_EQ(kept(c, 4), (std::vector<std::vector<int>>{{1, 1, 0, 0}, {1, 1, 1, 0}}));
}

TEST(LogitsProcessors, TopPDoesNotDependOnTrailingPlaces) {
  // The same row, alone and padded with -inf places as in a wider batch: the same cut, bit for bit.
  const at::Tensor row = log_of({{0.5f, 0.3f, 0.15f}});
  at::Tensor alone = row.clone();
  at::Tensor padded = at::cat({row, matrix({{-kInf, -kInf, -kInf, -kInf, -kInf}})}, 1);
  apply_top_p(alone, column({0.79f}));
  apply_top_p(padded, column({0.79f}));
  EXPECT_TRUE(at::equal(alone, padded.narrow(1, 0, 3)));
  EXPECT_EQ(kept(alone), (std::vector<std::vector<int>>{{1, 1, 0}}));
}

TEST(LogitsProcessors, TopPOffKeepsTokensWhoseMassRoundsAway) {
  // e^-30 is lost next to 1 in float32: the running sum reaches the total before the last tokens.
  const at::Tensor x = matrix({{30, 0, -1, -2}});
  EXPECT_EQ(kept(sorted_top_k_top_p(x, {2}, {1.0f}), 4), (std::vector<std::vector<int>>{{1, 1, 0, 0}}));
  EXPECT_EQ(kept(sorted_top_k_top_p(x, {0}, {1.0f}), 4), (std::vector<std::vector<int>>{{1, 1, 1, 1}}));
}

TEST(LogitsProcessors, FiltersLeaveNegativeInfinityAlone) {
  const at::Tensor x = matrix({{-kInf, 0, -kInf, 1}, {-kInf, -kInf, 2, -kInf}});
  Candidates c = sorted_top_k_top_p(x, {3, 2}, {0.5f, 0.1f});
  EXPECT_EQ(kept(c, 4), (std::vector<std::vector<int>>{{0, 0, 0, 1}, {0, 0, 1, 0}}));
  apply_min_p(c.logits, column({0.5f, 1.0f}));
  EXPECT_EQ(kept(c, 4), (std::vector<std::vector<int>>{{0, 0, 0, 1}, {0, 0, 1, 0}}));
  EXPECT_FALSE(c.logits.isnan().any().item<bool>());
  const Candidates selected = top_k_candidates(x, int_column({3, 3}), 3);
  EXPECT_EQ(kept(selected, 4), (std::vector<std::vector<int>>{{0, 1, 0, 1}, {0, 0, 1, 0}}));
}

TEST(LogitsProcessors, MinPRemovesTokensBelowAFractionOfTheMostLikely) {
  const std::vector<float> probs = {0.15f, 0.5f, 0.05f, 0.3f};
  at::Tensor x = log_of({probs, probs, probs, probs});
  const at::Tensor before = x.clone();
  apply_min_p(x, column({0.2f, 0.5f, 0.0f, 1.0f}));  // thresholds 0.1, 0.25, off, the maximum itself
  EXPECT_TRUE(at::equal(x.masked_select(x.isfinite()), before.masked_select(x.isfinite())));
  EXPECT_EQ(kept(x), (std::vector<std::vector<int>>{{1, 1, 0, 1}, {0, 1, 0, 1}, {1, 1, 1, 1}, {0, 1, 0, 0}}));
}

TEST(LogitsProcessors, MinPAfterTemperatureSeesTheFlattenedDistribution) {
  // At temperature 2 the probabilities go as sqrt(p): relative to the top 1, 0.775, 0.548, 0.316. min_p 0.4
  // keeps three; on the raw distribution (1, 0.6, 0.3, 0.1) it would keep two.
  const std::vector<float> probs = {0.5f, 0.3f, 0.15f, 0.05f};
  at::Tensor x = log_of({probs, probs});
  apply_temperature(x, column({2.0f, 1.0f}));
  apply_min_p(x, column({0.4f, 0.4f}));
  EXPECT_EQ(kept(x), (std::vector<std::vector<int>>{{1, 1, 1, 0}, {1, 1, 0, 0}}));
}

TEST(LogitsProcessors, TemperatureDividesAndZeroLeavesTheRow) {
  at::Tensor x = matrix({{2, -4, 1}, {2, -4, 1}, {2, -4, 1}});
  apply_temperature(x, column({2.0f, 0.0f, 0.5f}));
  EXPECT_TRUE(at::equal(x, matrix({{1, -2, 0.5f}, {2, -4, 1}, {4, -8, 2}})));
}

TEST(LogitsProcessors, RepetitionPenaltyDividesPositiveAndMultipliesNegative) {
  at::Tensor x = matrix({{2, -2, 1, 0.5f, 0}, {2, -2, 1, 0.5f, 0}, {2, -2, 1, 0.5f, 0}});
  const at::Tensor seen =
      matrix({{1, 1, 0, 1, 1}, {1, 1, 1, 1, 1}, {1, 1, 0, 0, 0}}).to(at::kBool);  // [rows, vocab]
  apply_repetition_penalty(x, seen, column({2.0f, 1.0f, 0.5f}));
  EXPECT_TRUE(at::equal(x, matrix({{1, -4, 1, 0.25f, 0}, {2, -2, 1, 0.5f, 0}, {4, -1, 1, 0.5f, 0}})));
  at::Tensor masked = matrix({{-kInf, 3}});
  apply_repetition_penalty(masked, matrix({{1, 1}}).to(at::kBool), column({1.5f}));
  EXPECT_TRUE(at::equal(masked, matrix({{-kInf, 2}})));
}

TEST(LogitsProcessors, PresenceAndFrequencyPenaltiesFollowOpenAI) {
  at::Tensor x = matrix({{1, 1, 1, -kInf}, {1, 1, 1, 1}});
  const at::Tensor counts = matrix({{0, 1, 3, 2}, {0, 1, 3, 2}});
  apply_presence_frequency_penalties(x, counts, column({0.5f, 0.0f}), column({0.25f, -1.0f}));
  // 1 - 0.5 * (count > 0) - 0.25 * count; a negative frequency penalty rewards repetition.
  EXPECT_TRUE(at::equal(x, matrix({{1, 0.25f, -0.25f, -kInf}, {1, 2, 4, 3}})));
}

TEST(LogitsProcessors, ExponentialRacePicksTheLargestRatioAndMapsItToItsId) {
  const Candidates c = {log_of({{2.0f / 3, 1.0f / 3}, {2.0f / 3, 1.0f / 3}, {2.0f / 3, 1.0f / 3}}),
                        at::tensor({5, 3, 5, 3, 5, 3}, at::kLong).view({3, 2})};
  // p / E: (2/3) / 1 beats (1/3) / 1; (2/3) / 4 loses to (1/3) / 1; a masked place never wins.
  const at::Tensor noise = matrix({{1, 1}, {4, 1}, {100, 1e-6f}});
  EXPECT_TRUE(at::equal(exponential_race(c, noise), at::tensor({5, 3, 3}, at::kLong)));
  Candidates masked = c;
  masked.logits = matrix({{0, -kInf}});
  masked.ids = at::tensor({5, 3}, at::kLong).view({1, 2});
  EXPECT_EQ(exponential_race(masked, matrix({{100, 1e-30f}}))[0].item<int64_t>(), 5);
}

TEST(LogitsProcessors, LogitBiasAddsPerRowAndToken) {
  at::Tensor x = matrix({{0, 0, 0}, {1, 1, 1}});
  add_logit_bias(x, at::tensor({0, 1, 1}, at::kLong), at::tensor({2, 0, 2}, at::kLong),
                 at::tensor({5.0f, -100.0f, 0.5f}, at::kFloat));
  EXPECT_TRUE(at::equal(x, matrix({{0, 0, 5}, {-99, 1, 1.5f}})));
}

}  // namespace
}  // namespace torchllm
