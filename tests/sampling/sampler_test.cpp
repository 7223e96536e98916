#include "torchllm/sampler.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <set>
#include <vector>

#include "sampling/logits_processors.h"
#include "sampling/seeded_generator.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
const c10::Device kCpu(c10::kCPU);

at::Tensor row_of(const std::vector<float>& values) {
  return at::tensor(at::ArrayRef<float>(values), at::kFloat).view({1, -1});  // [1, vocab]
}

at::Tensor random_logits(int64_t rows, int64_t vocab, uint64_t seed) {
  return at::randn({rows, vocab}, at::detail::createCPUGenerator(seed), at::kFloat);  // [rows, vocab]
}

SamplingParams seeded(uint64_t seed, double temperature = 1.0) {
  SamplingParams p;
  p.seed = seed;
  p.temperature = temperature;
  return p;
}

std::vector<SequenceSampler*> pointers(const std::vector<std::unique_ptr<SequenceSampler>>& samplers) {
  std::vector<SequenceSampler*> out;
  for (const auto& s : samplers) out.push_back(s.get());
  return out;
}

// `steps` tokens from one sampler fed the same logits row each step.
std::vector<int64_t> tokens_of(SequenceSampler& sampler, const at::Tensor& logits, int steps) {
  std::vector<int64_t> out;
  for (int i = 0; i < steps; ++i) out.push_back(sample_batch(logits, {&sampler})[0].token);
  return out;
}

TEST(Sampler, GreedyIsArgmaxWithTiesToTheLowestId) {
  const at::Tensor logits = random_logits(8, 50, 1);
  std::vector<std::unique_ptr<SequenceSampler>> samplers;
  for (int i = 0; i < 8; ++i)
    samplers.push_back(std::make_unique<SequenceSampler>(seeded(i, 0.0), kCpu, 50, std::vector<int64_t>{}));
  const std::vector<SampledToken> tokens = sample_batch(logits, pointers(samplers));
  const at::Tensor expected = logits.argmax(1);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(tokens[i].token, expected[i].item<int64_t>()) << i;

  SequenceSampler tie(seeded(0, 0.0), kCpu, 4, {});
  EXPECT_EQ(tokens_of(tie, row_of({1, 3, 3, 0}), 3), (std::vector<int64_t>{1, 1, 1}));
}

TEST(Sampler, SameSeedSameTokensOtherSeedOtherTokens) {
  const at::Tensor logits = random_logits(1, 50, 2) * 0.1;  // nearly flat: every token is plausible
  SamplingParams params = seeded(42);
  params.top_p = 0.9;
  SequenceSampler a(params, kCpu, 50, {}), b(params, kCpu, 50, {});
  params.seed = 43;
  SequenceSampler c(params, kCpu, 50, {});
  const std::vector<int64_t> first = tokens_of(a, logits, 30);
  EXPECT_EQ(first, tokens_of(b, logits, 30));
  EXPECT_NE(first, tokens_of(c, logits, 30));
  // Not always the same token: the generator advances from one step to the next.
  EXPECT_GT(std::set<int64_t>(first.begin(), first.end()).size(), 5u);
}

TEST(Sampler, UnseededSamplersSample) {
  SequenceSampler s(SamplingParams{}, kCpu, 10, {});
  for (int64_t token : tokens_of(s, random_logits(1, 10, 3), 20)) EXPECT_TRUE(token >= 0 && token < 10);
}

// The documented pipeline in double precision, written independently of the tensor code: temperature, top_k
// (exactly k, ties to the lower ids), top_p (keep while the mass before a token is < top_p), min_p;
// renormalized.
std::vector<double> reference_distribution(const std::vector<float>& logits, const SamplingParams& p) {
  const size_t n = logits.size();
  std::vector<double> x(logits.begin(), logits.end());
  for (double& v : x) v /= p.temperature;
  std::vector<bool> keep(n, true);
  std::vector<size_t> by_logit(n);
  std::iota(by_logit.begin(), by_logit.end(), 0);
  std::stable_sort(by_logit.begin(), by_logit.end(), [&](size_t a, size_t b) { return x[a] > x[b]; });
  if (p.top_k > 0) {
    for (size_t place = static_cast<size_t>(p.top_k); place < n; ++place) keep[by_logit[place]] = false;
  }
  auto normalized = [&] {
    std::vector<double> probs(n, 0.0);
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += probs[i] = keep[i] ? std::exp(x[i]) : 0.0;
    for (double& v : probs) v /= sum;
    return probs;
  };
  std::vector<double> probs = normalized();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return probs[a] > probs[b]; });
  double before = 0;
  for (size_t i : order) {
    if (before >= p.top_p) keep[i] = false;
    before += probs[i];
  }
  probs = normalized();
  const double top = *std::max_element(probs.begin(), probs.end());
  for (size_t i = 0; i < n; ++i) keep[i] = keep[i] && probs[i] >= p.min_p * top;
  return normalized();
}

// Pearson's statistic; infinite when a token of probability 0 was drawn.
double chi_square(const std::vector<int64_t>& counts, const std::vector<double>& probs, int64_t draws) {
  double chi = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] == 0) {
      if (counts[i] > 0) return std::numeric_limits<double>::infinity();
      continue;
    }
    const double expected = probs[i] * draws;
    chi += (counts[i] - expected) * (counts[i] - expected) / expected;
  }
  return chi;
}

// 100 seeded sequences in one batch for 200 steps: 20000 draws.
std::vector<int64_t> draw_counts(const std::vector<float>& logits, SamplingParams params) {
  constexpr int kRows = 100, kSteps = 200;
  const int64_t vocab = static_cast<int64_t>(logits.size());
  std::vector<std::unique_ptr<SequenceSampler>> samplers;
  for (int i = 0; i < kRows; ++i) {
    params.seed = 1000 + i;
    samplers.push_back(std::make_unique<SequenceSampler>(params, kCpu, vocab, std::vector<int64_t>{}));
  }
  const at::Tensor batch = row_of(logits).expand({kRows, vocab}).contiguous();  // [rows, vocab]
  std::vector<int64_t> counts(vocab, 0);
  for (int step = 0; step < kSteps; ++step) {
    for (const SampledToken& t : sample_batch(batch, pointers(samplers))) ++counts[t.token];
  }
  return counts;
}

TEST(Sampler, DrawsFollowTheFilteredDistribution) {
  // Each filter removes something here: top_k 8 drops ids 6-9, top_p 0.9 then drops id 5 (0.959 before it),
  // min_p 0.2 then drops id 4 (0.18 of the top). Six tokens stay; margins are far above float rounding.
  const std::vector<float> logits = {2.0f, 1.5f, 1.2f,  1.0f,  0.8f, 0.5f,
                                     0.3f, 0.0f, -0.5f, -1.0f, 1.1f, 0.9f};
  SamplingParams params;
  params.temperature = 0.7;
  params.top_k = 8;
  params.top_p = 0.9;
  params.min_p = 0.2;
  const std::vector<double> expected = reference_distribution(logits, params);
  ASSERT_EQ(std::count_if(expected.begin(), expected.end(), [](double p) { return p > 0; }), 6);
  constexpr int64_t kDraws = 20000;
  constexpr double kCritical = 20.52;  // chi-square, 5 degrees of freedom, p = 0.001

  const std::vector<int64_t> counts = draw_counts(logits, params);
  EXPECT_LT(chi_square(counts, expected, kDraws), kCritical);

  // The test has teeth. Draws that skip the filters land on removed tokens:
  SamplingParams unfiltered = params;
  unfiltered.top_k = 0;
  unfiltered.top_p = 1;
  unfiltered.min_p = 0;
  EXPECT_EQ(chi_square(draw_counts(logits, unfiltered), expected, kDraws),
            std::numeric_limits<double>::infinity());
  // and with the support right but the shape wrong (temperature 1 instead of 0.7, over all 12 tokens), the
  // statistic is far past the critical value while the right expectation passes.
  SamplingParams hot = unfiltered;
  hot.temperature = 1.0;
  const std::vector<int64_t> hot_counts = draw_counts(logits, hot);
  constexpr double kCritical11 = 31.26;  // 11 degrees of freedom, p = 0.001
  EXPECT_LT(chi_square(hot_counts, reference_distribution(logits, hot), kDraws), kCritical11);
  EXPECT_GT(chi_square(hot_counts, reference_distribution(logits, unfiltered), kDraws), 10 * kCritical11);
}

TEST(Sampler, DrawsWithTopPAloneFollowTheNucleus) {
  // Without top_k the row sorts the whole vocabulary; top_p 0.8 keeps seven tokens (0.765 before the seventh,
  // 0.837 before the eighth).
  const std::vector<float> logits = {2.0f, 1.5f, 1.2f,  1.0f,  0.8f, 0.5f,
                                     0.3f, 0.0f, -0.5f, -1.0f, 1.1f, 0.9f};
  SamplingParams params;
  params.top_p = 0.8;
  const std::vector<double> expected = reference_distribution(logits, params);
  ASSERT_EQ(std::count_if(expected.begin(), expected.end(), [](double p) { return p > 0; }), 7);
  constexpr double kCritical = 22.46;  // chi-square, 6 degrees of freedom, p = 0.001
  EXPECT_LT(chi_square(draw_counts(logits, params), expected, 20000), kCritical);
}

// top_p without top_k samples from the leading 1024 candidates when they hold every row's nucleus: the same
// tokens, draw for draw, as the whole sorted vocabulary (written out here with the processors), and the same
// when a flat row's nucleus is wider and the group sorts after all.
TEST(Sampler, TopPFromTheLeadingCandidatesDrawsWhatTheSortedVocabularyDraws) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(17);
  const std::vector<double> temperature{0.6, 1.0, 1.3, 0.8}, top_p{0.9, 0.5, 0.95, 0.99},
      min_p{0, 0, 0.05, 0};
  for (int64_t vocab : {5000, 60000}) {
    for (double spread : {4.0, 0.05}) {
      const at::Tensor logits = at::randn({4, vocab}, gen) * spread;  // [rows, vocab]
      std::vector<std::unique_ptr<SequenceSampler>> samplers;
      std::vector<SequenceSampler*> rows;
      std::vector<at::Generator> references;
      for (size_t i = 0; i < 4; ++i) {
        SamplingParams p;
        p.temperature = temperature[i];
        p.top_p = top_p[i];
        p.min_p = min_p[i];
        p.seed = 11 + i;
        samplers.push_back(std::make_unique<SequenceSampler>(p, c10::kCPU, vocab, std::vector<int64_t>{}));
        rows.push_back(samplers.back().get());
        references.push_back(make_seeded_generator(c10::kCPU, 11 + i));
      }
      for (int step = 0; step < 5; ++step) {
        const std::vector<SampledToken> got = sample_batch(logits, rows);
        for (size_t i = 0; i < 4; ++i) {
          Candidates c = sort_candidates(logits[i].unsqueeze(0).clone());
          apply_temperature(c.logits, at::full({1, 1}, temperature[i]));
          apply_top_p(c.logits, at::full({1, 1}, top_p[i]));
          if (min_p[i] > 0) apply_min_p(c.logits, at::full({1, 1}, min_p[i]));
          const at::Tensor noise = at::ones({1, vocab});
          fill_exponential(noise[0], references[i]);
          EXPECT_EQ(got[i].token, exponential_race(c, noise).item<int64_t>())
              << "vocab " << vocab << " spread " << spread << " row " << i << " step " << step;
        }
      }
    }
  }
}

TEST(Sampler, MixedBatchEqualsRowsSampledAlone) {
  constexpr int64_t kVocab = 40;
  SamplingParams greedy = seeded(1, 0.0);
  greedy.presence_penalty = 0.5;
  greedy.frequency_penalty = 0.3;
  greedy.logprobs = true;
  greedy.top_logprobs = 3;
  SamplingParams nucleus = seeded(7, 0.9);
  nucleus.top_p = 0.9;
  nucleus.top_k = 10;
  nucleus.repetition_penalty = 1.3;
  SamplingParams biased = seeded(11, 1.2);
  biased.min_p = 0.05;
  biased.logit_bias = {{3, 5.0}, {4, -100.0}};
  biased.logprobs = true;
  SamplingParams narrow = seeded(13, 0.8);  // a narrower top_k than `nucleus` in the same selection
  narrow.top_k = 3;
  SamplingParams sorted = seeded(17, 1.1);  // top_p alone: the sorted vocabulary
  sorted.top_p = 0.8;
  sorted.min_p = 0.02;
  const std::vector<SamplingParams> params = {greedy, nucleus, biased, narrow, sorted};
  const std::vector<int64_t> prompt = {1, 2, 3};

  std::vector<std::unique_ptr<SequenceSampler>> together, alone;
  for (const SamplingParams& p : params) {
    together.push_back(std::make_unique<SequenceSampler>(p, kCpu, kVocab, prompt));
    alone.push_back(std::make_unique<SequenceSampler>(p, kCpu, kVocab, prompt));
  }
  for (int step = 0; step < 12; ++step) {
    const at::Tensor logits = random_logits(5, kVocab, 100 + step) * 2;  // [5, vocab]
    const std::vector<SampledToken> batch = sample_batch(logits, pointers(together));
    for (int64_t i = 0; i < 5; ++i) {
      const SampledToken single = sample_batch(logits.narrow(0, i, 1), {alone[i].get()})[0];
      EXPECT_EQ(batch[i].token, single.token) << "step " << step << " row " << i;
      EXPECT_EQ(batch[i].logprob, single.logprob);
      ASSERT_EQ(batch[i].top.size(), single.top.size());
      for (size_t j = 0; j < single.top.size(); ++j) {
        EXPECT_EQ(batch[i].top[j].token, single.top[j].token);
        EXPECT_EQ(batch[i].top[j].logprob, single.top[j].logprob);
      }
    }
    EXPECT_NE(batch[2].token, 4);  // banned by its bias
  }
}

TEST(Sampler, LogprobsAreThoseOfTheUnmodifiedDistribution) {
  const at::Tensor logits = random_logits(3, 30, 5);
  SamplingParams filtered = seeded(3, 0.5);
  filtered.top_k = 3;
  filtered.repetition_penalty = 2.0;
  filtered.logit_bias = {{7, 3.0}};
  filtered.logprobs = true;
  filtered.top_logprobs = 5;
  SamplingParams greedy = seeded(4, 0.0);
  greedy.logprobs = true;
  SamplingParams none = seeded(5);
  SequenceSampler a(filtered, kCpu, 30, {0, 1}), b(greedy, kCpu, 30, {}), c(none, kCpu, 30, {});
  const std::vector<SampledToken> out = sample_batch(logits, {&a, &b, &c});

  const at::Tensor expected = at::log_softmax(logits, 1);  // [3, vocab]
  EXPECT_FLOAT_EQ(out[0].logprob, expected[0][out[0].token].item<float>());
  EXPECT_FLOAT_EQ(out[1].logprob, expected[1][out[1].token].item<float>());
  EXPECT_EQ(out[2].logprob, 0.0f);
  EXPECT_TRUE(out[1].top.empty());
  EXPECT_TRUE(out[2].top.empty());

  ASSERT_EQ(out[0].top.size(), 5u);
  const at::Tensor order = expected[0].argsort(0, /*descending=*/true);
  for (size_t j = 0; j < 5; ++j) {
    EXPECT_EQ(out[0].top[j].token, order[j].item<int64_t>());
    EXPECT_FLOAT_EQ(out[0].top[j].logprob, expected[0][out[0].top[j].token].item<float>());
    if (j > 0) {
      EXPECT_GT(out[0].top[j - 1].logprob, out[0].top[j].logprob);
    }
  }

  // More alternatives asked for than the vocabulary has.
  SamplingParams wide = seeded(6);
  wide.logprobs = true;
  wide.top_logprobs = 20;
  SequenceSampler small(wide, kCpu, 3, {});
  const SampledToken t = sample_batch(row_of({0.0f, 2.0f, 1.0f}), {&small})[0];
  ASSERT_EQ(t.top.size(), 3u);
  EXPECT_EQ(t.top[0].token, 1);
  EXPECT_EQ(t.top[1].token, 2);
  EXPECT_EQ(t.top[2].token, 0);
}

TEST(Sampler, RepetitionPenaltyCoversPromptAndGeneratedTokens) {
  SamplingParams p = seeded(0, 0.0);
  p.repetition_penalty = 2.0;
  SequenceSampler s(p, kCpu, 4, {0});
  // [3, 2, 1, 0] -> prompt token 0 halved to 1.5: 1 wins; then 1 is halved too: 0 (1.5) wins again.
  EXPECT_EQ(tokens_of(s, row_of({3, 2, 1, 0}), 2), (std::vector<int64_t>{1, 0}));
}

TEST(Sampler, FrequencyAndPresencePenaltiesCountGeneratedTokensOnly) {
  SamplingParams frequency = seeded(0, 0.0);
  frequency.frequency_penalty = 1.5;
  SequenceSampler f(frequency, kCpu, 4, {0, 0, 0});  // the prompt does not count
  // counts after each step: {0:1} -> 3-1.5 < 2; {1:1}; {0:2} -> 3-3 = 0 < 0.5; ties to the lower id.
  EXPECT_EQ(tokens_of(f, row_of({3, 2, 0.5f, 0}), 4), (std::vector<int64_t>{0, 1, 0, 1}));

  SamplingParams presence = seeded(0, 0.0);
  presence.presence_penalty = 2.0;
  SequenceSampler p(presence, kCpu, 4, {1});
  // Presence does not grow with repetition: once both are penalized, 0 stays ahead.
  EXPECT_EQ(tokens_of(p, row_of({3, 2, 0.5f, 0}), 4), (std::vector<int64_t>{0, 1, 0, 0}));

  SequenceSampler recorded(presence, kCpu, 4, {});
  recorded.record(0);
  EXPECT_EQ(tokens_of(recorded, row_of({3, 2, 0.5f, 0}), 1), (std::vector<int64_t>{1}));
  EXPECT_THROW(recorded.record(4), Error);
  EXPECT_THROW(recorded.record(-1), Error);
}

TEST(Sampler, BiasForcesOrBansAndInfiniteLogitsNeverWin) {
  SamplingParams force = seeded(9);
  force.logit_bias = {{2, 100.0}};
  SequenceSampler forced(force, kCpu, 6, {});
  for (int64_t t : tokens_of(forced, at::zeros({1, 6}), 200)) EXPECT_EQ(t, 2);

  SamplingParams ban = seeded(9);
  ban.logit_bias = {{0, -100.0}, {1, -100.0}, {2, -100.0}, {3, -100.0}, {4, -100.0}};
  SequenceSampler banned(ban, kCpu, 6, {});
  for (int64_t t : tokens_of(banned, at::zeros({1, 6}), 200)) EXPECT_EQ(t, 5);

  SequenceSampler plain(seeded(10), kCpu, 5, {});
  std::vector<int> seen(5, 0);
  for (int64_t t : tokens_of(plain, row_of({-kInf, 1, -kInf, 1.5f, -kInf}), 500)) ++seen[t];
  EXPECT_EQ(seen, (std::vector<int>{0, seen[1], 0, seen[3], 0}));
  EXPECT_GT(seen[1], 100);
  EXPECT_GT(seen[3], 100);
}

TEST(Sampler, AllButOneMaskedAlwaysGivesThatToken) {
  SamplingParams every = seeded(12, 0.7);
  every.top_k = 2;
  every.top_p = 0.3;
  every.min_p = 0.5;
  every.presence_penalty = 1.0;
  every.repetition_penalty = 1.5;
  every.logprobs = true;
  SequenceSampler sampled(every, kCpu, 4, {2});
  SequenceSampler greedy(seeded(0, 0.0), kCpu, 4, {});
  const at::Tensor logits = row_of({-kInf, -kInf, 0.5f, -kInf}).expand({2, 4}).contiguous();
  for (int step = 0; step < 50; ++step) {
    const std::vector<SampledToken> out = sample_batch(logits, {&sampled, &greedy});
    EXPECT_EQ(out[0].token, 2);
    EXPECT_EQ(out[1].token, 2);
    EXPECT_EQ(out[0].logprob, 0.0f);
  }
}

TEST(Sampler, LeavesTheCallersLogitsAlone) {
  SamplingParams p = seeded(1, 0.5);
  p.logit_bias = {{1, 10.0}};
  p.top_k = 2;
  p.repetition_penalty = 3.0;
  SequenceSampler s(p, kCpu, 20, {0, 1, 2});
  const at::Tensor logits = random_logits(1, 20, 6);
  const at::Tensor before = logits.clone();
  sample_batch(logits, {&s});
  EXPECT_TRUE(at::equal(logits, before));
}

TEST(Sampler, AcceptsHalfPrecisionAndStridedLogits) {
  const at::Tensor full = random_logits(4, 16, 7);  // [4, 16]
  const at::Tensor half = full.to(at::kBFloat16);
  const at::Tensor half_argmax = half.to(at::kFloat).argmax(1);
  SequenceSampler a(seeded(0, 0.0), kCpu, 16, {}), b(seeded(0, 0.0), kCpu, 16, {});
  std::vector<SampledToken> out = sample_batch(half.narrow(0, 1, 2), {&a, &b});
  EXPECT_EQ(out[0].token, half_argmax[1].item<int64_t>());
  EXPECT_EQ(out[1].token, half_argmax[2].item<int64_t>());

  const at::Tensor column_major = full.t().contiguous().t();  // same values, transposed strides
  ASSERT_FALSE(column_major.is_contiguous());
  SamplingParams p = seeded(5);
  p.top_p = 0.5;
  SequenceSampler c(p, kCpu, 16, {}), d(p, kCpu, 16, {});
  const at::Tensor dense = full.narrow(0, 0, 1).contiguous();
  EXPECT_EQ(tokens_of(c, column_major.narrow(0, 0, 1), 20), tokens_of(d, dense, 20));
}

TEST(Sampler, RejectsBatchesThatDoNotFit) {
  SequenceSampler a(seeded(0), kCpu, 8, {}), b(seeded(1), kCpu, 8, {}), wide(seeded(2), kCpu, 9, {});
  auto kind_of = [](const at::Tensor& logits, const std::vector<SequenceSampler*>& rows) {
    try {
      sample_batch(logits, rows);
    } catch (const Error& e) {
      return e.kind();
    }
    return Error::Kind::kInternal;
  };
  EXPECT_EQ(kind_of(at::zeros({8}), {&a}), Error::Kind::kInvalidArgument);
  EXPECT_EQ(kind_of(at::zeros({2, 8}), {&a}), Error::Kind::kInvalidArgument);
  EXPECT_EQ(kind_of(at::zeros({2, 8}), {&a, &a}), Error::Kind::kInvalidArgument);
  EXPECT_EQ(kind_of(at::zeros({2, 8}), {&a, nullptr}), Error::Kind::kInvalidArgument);
  EXPECT_EQ(kind_of(at::zeros({2, 8}), {&a, &wide}), Error::Kind::kInvalidArgument);
  EXPECT_EQ(kind_of(at::zeros({2, 8}, at::kLong), {&a, &b}), Error::Kind::kInvalidArgument);
  EXPECT_TRUE(sample_batch(at::zeros({0, 8}), {}).empty());
}

TEST(Sampler, ConstructorValidatesParamsAndPrompt) {
  SamplingParams bad;
  bad.top_p = 0;
  try {
    SequenceSampler s(bad, kCpu, 8, {});
    ADD_FAILURE() << "accepted top_p 0";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("top_p"), std::string::npos);
  }
  SamplingParams bias;
  bias.logit_bias = {{8, 1.0}};
  EXPECT_THROW(SequenceSampler(bias, kCpu, 8, {}), Error);
  try {
    SequenceSampler s(SamplingParams{}, kCpu, 8, {1, 8});
    ADD_FAILURE() << "accepted prompt id 8";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("prompt token id 8"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace torchllm
