// The scheduler over a paged KV cache against today's path (one contiguous cache slot per sequence, the
// model driven directly): the same greedy tokens, and log-probabilities within 1e-5, on every Hugging Face
// reference fixture, with block sizes 1, 16 and 256, with and without prefix caching, in batches of ragged
// prompts, and under forced preemption.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "reference_fixtures.h"
#include "tiny_checkpoint.h"
#include "torchllm/json_file.h"
#include "torchllm/scheduler.h"

namespace torchllm {
namespace {

constexpr int64_t kGenerated = 12;

struct Expected {
  std::vector<int64_t> tokens;
  std::vector<at::Tensor> logprobs;  // [vocab] float32 per generated token
};

// Greedy decoding with the model alone on a make_cache slot: what the scheduler must reproduce.
Expected direct_greedy(const Transformer& model, const std::vector<int64_t>& prompt) {
  KvCache cache = model.make_cache(1, static_cast<int64_t>(prompt.size()) + kGenerated);
  Expected out;
  SequenceChunk chunk{0, 0, prompt, false};
  for (int64_t i = 0; i < kGenerated; ++i) {
    at::Tensor logits = model.forward({chunk}, cache)[0];
    out.logprobs.push_back(at::log_softmax(logits, -1));
    out.tokens.push_back(logits.argmax().item<int64_t>());
    chunk.start += static_cast<int64_t>(chunk.tokens.size());
    chunk.tokens = {out.tokens.back()};
  }
  return out;
}

struct ScheduledRun {
  std::vector<GenerationResult> results;
  KvCacheStats stats;
};

ScheduledRun schedule(const Transformer& model, const Tokenizer& tokenizer, const SchedulerOptions& options,
                      const std::vector<std::vector<int64_t>>& prompts) {
  Scheduler scheduler(model, tokenizer, options);
  std::vector<std::optional<GenerationResult>> results(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    GenerationRequest request;
    request.prompt.assign(prompts[i].begin(), prompts[i].end());
    request.sampling.temperature = 0;
    request.sampling.logprobs = true;
    request.sampling.top_logprobs = 20;
    request.max_tokens = kGenerated;
    request.ignore_eos = true;
    GenerationCallbacks callbacks;
    callbacks.on_finish = [&results, i](const GenerationResult& r) { results[i] = r; };
    callbacks.on_error = [](const std::string& message) { ADD_FAILURE() << message; };
    scheduler.submit(std::move(request), std::move(callbacks));
  }
  while (scheduler.step()) {
  }
  ScheduledRun run;
  for (auto& r : results) {
    EXPECT_TRUE(r.has_value());
    run.results.push_back(r ? *r : GenerationResult{});
  }
  run.stats = scheduler.kv_stats();
  return run;
}

void expect_same(const GenerationResult& got, const Expected& want, const std::string& what) {
  ASSERT_EQ(std::vector<int64_t>(got.tokens.begin(), got.tokens.end()), want.tokens) << what;
  ASSERT_EQ(got.token_logprobs.size(), want.logprobs.size()) << what;
  // Relative to the log-probability's size (at least 1), and 2e-5 as a log-probability is a logit less their
  // log-sum-exp, each within 1e-5: batches of other shapes sum in other orders, which moves a float32
  // log-probability of -15 by ten ulps (1e-6 each) even on the same attention path (measured worst: 1.2e-5,
  // with TORCHLLM_DECODE_ATTENTION=sdpa as without).
  double worst = 0;
  auto compare = [&](double got_value, double want_value) {
    worst = std::max(worst, std::abs(got_value - want_value) / std::max(1.0, std::abs(want_value)));
  };
  for (size_t t = 0; t < want.logprobs.size(); ++t) {
    const SampledToken& s = got.token_logprobs[t];
    compare(s.logprob, want.logprobs[t][s.token].item<double>());
    for (const TokenLogprob& alt : s.top) compare(alt.logprob, want.logprobs[t][alt.token].item<double>());
  }
  EXPECT_LE(worst, 2e-5) << what;
}

class PagedKv : public ::testing::TestWithParam<std::string> {};

TEST_P(PagedKv, SchedulerEqualsTheDirectPathForEveryBlockSizeCacheAndPreemption) {
  const std::string dir = testing::reference_fixtures_dir() + "/" + GetParam();
  const nlohmann::json ref = read_json_file(dir + "/reference.json");
  const auto prompt = ref.at("prompt_ids").get<std::vector<int64_t>>();
  auto model = Transformer::load(dir, LoadOptions{"cpu", "fp32"});
  auto tokenizer = load_tokenizer(dir);

  // Ragged: the prompt, its shorter beginnings, and the prompt again (a prefix-cache hit, or a wait for the
  // first copy's blocks).
  std::vector<std::vector<int64_t>> prompts{prompt};
  for (size_t cut : {prompt.size() - 1, prompt.size() / 2, size_t{3}, size_t{1}}) {
    prompts.emplace_back(prompt.begin(), prompt.begin() + static_cast<std::ptrdiff_t>(cut));
  }
  prompts.push_back(prompt);
  std::vector<Expected> expected;
  for (const auto& p : prompts) expected.push_back(direct_greedy(*model, p));
  const auto hf = ref.at("greedy_ids").get<std::vector<int64_t>>();
  EXPECT_EQ(expected[0].tokens, std::vector<int64_t>(hf.begin(), hf.begin() + kGenerated))
      << "the direct path itself is Hugging Face's";

  const int64_t context = static_cast<int64_t>(prompt.size()) + kGenerated + 4;
  for (const int64_t block_size : {1, 16, 256}) {
    for (const bool prefix_caching : {true, false}) {
      for (const bool preempt : {false, true}) {
        SchedulerOptions options;
        options.max_batch = 4;
        options.max_seq = context;
        options.kv_block_size = block_size;
        options.prefix_caching = prefix_caching;
        // Room for one whole sequence only: the others are preempted as they grow.
        if (preempt) options.kv_blocks = (context + block_size - 1) / block_size;
        const std::string what = GetParam() + " block " + std::to_string(block_size) +
                                 (prefix_caching ? " cached" : " uncached") + (preempt ? " preempted" : "");
        const ScheduledRun run = schedule(*model, *tokenizer, options, prompts);
        for (size_t i = 0; i < prompts.size(); ++i) {
          expect_same(run.results[i], expected[i], what + " prompt " + std::to_string(i));
        }
        if (preempt && block_size < 256) {
          EXPECT_GT(run.stats.preemptions, 0) << what;
        } else if (!preempt) {
          EXPECT_EQ(run.stats.preemptions, 0) << what;
        }
        if (prefix_caching && block_size < static_cast<int64_t>(prompt.size())) {
          EXPECT_GT(run.stats.prefix_hit_tokens, 0) << what;
        } else if (!prefix_caching) {
          EXPECT_EQ(run.stats.prefix_hit_tokens, 0) << what;
        }
        EXPECT_EQ(run.stats.blocks_used, 0) << what << ": every block is back";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, PagedKv, ::testing::ValuesIn(testing::reference_fixture_names()),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

}  // namespace
}  // namespace torchllm
