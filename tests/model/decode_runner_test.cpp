// The static-shape decode step (DecodeRunner) against the dynamic forward pass it replaces: the same logits
// and greedy tokens on every Hugging Face reference fixture and on batches with ragged positions, padding
// rows and scattered slots.
#include "torchllm/decode_runner.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "reference_fixtures.h"
#include "tiny_checkpoint.h"
#include "torchllm/error.h"
#include "torchllm/json_file.h"
#include "torchllm/model.h"

namespace torchllm {
namespace {

const std::string kReferenceDir = testing::reference_fixtures_dir();

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.cpu() - b.cpu()).abs().max().item<double>();
}

// Greedy decoding of `count` tokens after `prompt`, every decode step through `decode` (the dynamic forward
// or a runner); the logits of each step go to *steps.
template <typename Decode>
std::vector<int64_t> greedy(const Transformer& model, KvCache& cache, const std::vector<int64_t>& prompt,
                            size_t count, Decode decode, std::vector<at::Tensor>* steps) {
  std::vector<int64_t> out;
  at::Tensor logits = model.forward({{0, 0, prompt}}, cache);
  while (out.size() < count) {
    out.push_back(logits[0].argmax().item<int64_t>());
    if (out.size() == count) break;
    logits = decode({{0, static_cast<int64_t>(prompt.size() + out.size() - 1), {out.back()}}});
    steps->push_back(logits.cpu().clone());
  }
  return out;
}

struct FixtureCase {
  std::string fixture;
  std::string dtype;
  bool static_shapes;
};

class DecodeRunnerReference : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(DecodeRunnerReference, GreedyTokensAndLogitsMatchTheDynamicPath) {
  const FixtureCase& c = GetParam();
  const std::string dir = kReferenceDir + "/" + c.fixture;
  const nlohmann::json ref = read_json_file(dir + "/reference.json");
  const auto prompt = ref.at("prompt_ids").get<std::vector<int64_t>>();
  const auto expected = ref.at("greedy_ids").get<std::vector<int64_t>>();
  auto model = Transformer::load(dir, LoadOptions{testing::test_device(), c.dtype});
  const auto context = static_cast<int64_t>(prompt.size() + expected.size() + 8);

  KvCache dynamic_cache = model->make_cache(1, context);
  std::vector<at::Tensor> dynamic_steps;
  const auto dynamic = greedy(
      *model, dynamic_cache, prompt, expected.size(),
      [&](const std::vector<SequenceChunk>& b) { return model->forward(b, dynamic_cache); }, &dynamic_steps);

  KvCache static_cache = model->make_cache(1, context);
  DecodeRunner runner(*model, static_cache, DecodeRunnerOptions{true, c.static_shapes});
  std::vector<at::Tensor> static_steps;
  const auto statics = greedy(
      *model, static_cache, prompt, expected.size(),
      [&](const std::vector<SequenceChunk>& b) { return runner.decode(b); }, &static_steps);

  EXPECT_EQ(statics, dynamic);
  if (c.dtype == "fp32") {
    EXPECT_EQ(statics, expected);
  }
  ASSERT_EQ(static_steps.size(), dynamic_steps.size());
  for (size_t i = 0; i < static_steps.size(); ++i) {
    // bf16 rounds differently when a product has other shapes (more keys, masked): through the layers of
    // the sliding-window fixture that reaches 5% of the largest logit, while the tokens stay the same.
    // fp32: a CPU decode step runs the paged attention kernel (float32 sums in another order than the
    // matrix products of the dynamic path): 1e-5 of the logits' scale (measured: at most 1.1e-5 on logits
    // up to 11).
    const double scale = dynamic_steps[i].abs().max().item<double>();
    const double tolerance = c.dtype == "fp32" ? 1e-5 * std::max(1.0, scale) : 0.1 * scale;
    EXPECT_LE(max_abs_diff(static_steps[i], dynamic_steps[i]), tolerance) << "decode step " << i;
  }
}

std::vector<FixtureCase> fixture_cases() {
  std::vector<FixtureCase> cases;
  for (const std::string& name : testing::reference_fixture_names()) {
    for (const char* dtype : {"fp32", "bf16"}) {
      for (bool whole : {false, true}) cases.push_back({name, dtype, whole});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, DecodeRunnerReference, ::testing::ValuesIn(fixture_cases()),
                         [](const ::testing::TestParamInfo<FixtureCase>& info) {
                           std::string name = info.param.fixture + "_" + info.param.dtype +
                                              (info.param.static_shapes ? "_static_shapes" : "_live_shapes");
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

class DecodeRunnerBatches : public ::testing::TestWithParam<std::string> {
 protected:
  static std::unique_ptr<Transformer> load(const std::string& variant) {
    const std::string dir = testing::make_temp_dir("decode-runner-" + variant);
    testing::write_tiny_checkpoint(dir, testing::tiny_config_json(variant), 11);
    return Transformer::load(dir, LoadOptions{testing::test_device(), "fp32"});
  }
};

// A pool of blocks of 3 positions for 7 slots of 40, each slot's blocks scattered over the pool.
KvCache shuffled_paged_cache(const Transformer& model) {
  const int64_t per_slot = 14, slots = 7;
  KvCache cache = model.make_paged_cache(per_slot * slots, 3, slots, 40);
  const at::Tensor order = at::randperm(per_slot * slots, at::TensorOptions().dtype(at::kLong));
  for (int64_t s = 0; s < slots; ++s) {
    const at::Tensor blocks = order.narrow(0, s * per_slot, per_slot).contiguous();
    cache.set_block_table(
        s, std::vector<int64_t>(blocks.data_ptr<int64_t>(), blocks.data_ptr<int64_t>() + per_slot));
  }
  return cache;
}

// Five sequences of different lengths in scattered slots of a 7-slot cache decode together for several steps
// (static shapes: a bucket of 8, three padding rows), then a lone one (bucket 1) and two in consecutive
// slots (read in place without static shapes); each step's logits equal the dynamic path's on a twin cache,
// and the slot no sequence uses stays untouched. Again with the runner's cache a paged pool whose blocks are
// scattered (what the scheduler makes), against the dynamic path on one block per slot.
TEST_P(DecodeRunnerBatches, RaggedBatchesMatchTheDynamicPath) {
  auto model = load(GetParam());
  const int64_t vocab = model->config().vocab_size;
  at::manual_seed(3);
  for (const int variant : {0, 1, 2, 3}) {
    const bool static_shapes = variant % 2 == 1, paged = variant >= 2;
    KvCache dynamic_cache = model->make_cache(7, 40);
    KvCache static_cache = paged ? shuffled_paged_cache(*model) : model->make_cache(7, 40);
    DecodeRunner runner(*model, static_cache, DecodeRunnerOptions{true, static_shapes});
    const std::vector<int64_t> slots{5, 6, 3, 0, 1};
    std::vector<std::vector<int64_t>> tokens;
    for (size_t i = 0; i < slots.size(); ++i) {
      tokens.push_back(
          testing::token_sequence(3 + 4 * static_cast<int64_t>(i), static_cast<int64_t>(i), vocab));
      const std::vector<SequenceChunk> prefill{{slots[i], 0, tokens[i]}};
      model->forward(prefill, dynamic_cache);
      model->forward(prefill, static_cache);
    }
    const at::Tensor untouched = static_cache.keys(0)[2].clone();
    for (int step = 0; step < 6; ++step) {
      std::vector<SequenceChunk> batch;
      const size_t count = step < 4 ? slots.size() : (step == 4 ? 1 : 2);
      for (size_t i = 0; i < count; ++i) {
        batch.push_back(
            {slots[i], static_cast<int64_t>(tokens[i].size()), {(tokens[i].back() * 7 + step + 1) % vocab}});
        tokens[i].push_back(batch.back().tokens[0]);
      }
      const at::Tensor expected = model->forward(batch, dynamic_cache);
      const at::Tensor got = runner.decode(batch);
      ASSERT_EQ(got.size(0), static_cast<int64_t>(count));
      EXPECT_LE(max_abs_diff(got, expected), 1e-5)
          << "step " << step << (static_shapes ? " (static shapes)" : "") << (paged ? " (paged)" : "");
    }
    if (paged) continue;
    EXPECT_TRUE(at::equal(static_cache.keys(0)[2], untouched)) << "slot 2 holds no sequence";
    for (size_t i = 0; i < slots.size(); ++i) {
      const int64_t live = static_cast<int64_t>(tokens[i].size());
      EXPECT_LE(max_abs_diff(static_cache.keys(1)[slots[i]].narrow(1, 0, live),
                             dynamic_cache.keys(1)[slots[i]].narrow(1, 0, live)),
                1e-5);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, DecodeRunnerBatches, ::testing::ValuesIn(testing::tiny_variants()));

TEST(DecodeRunner, TakesOnlyDecodeSteps) {
  EXPECT_FALSE(DecodeRunner::accepts({}));
  EXPECT_TRUE(DecodeRunner::accepts({{0, 3, {1}}, {1, 5, {2}}}));
  EXPECT_FALSE(DecodeRunner::accepts({{0, 3, {1}}, {1, 0, {2, 3}}}));
  EXPECT_FALSE(DecodeRunner::accepts(std::vector<SequenceChunk>(65, SequenceChunk{0, 0, {1}})));
  EXPECT_EQ(DecodeRunner::buckets().back(), DecodeRunner::kMaxBatch);
}

TEST(DecodeRunner, RejectsWhatTheForwardPassRejects) {
  const std::string dir = testing::make_temp_dir("decode-runner-errors");
  testing::write_tiny_checkpoint(dir, testing::tiny_config_json("qwen3"), 3);
  auto model = Transformer::load(dir, LoadOptions{testing::test_device(), "fp32"});
  KvCache cache = model->make_cache(2, 8);
  DecodeRunner runner(*model, cache);
  EXPECT_THROW(runner.decode({{0, 1, {1}}, {0, 2, {1}}}), Error);  // repeated slot
  EXPECT_THROW(runner.decode({{2, 1, {1}}}), Error);               // the scratch slot is not a sequence's
  EXPECT_THROW(runner.decode({{0, 8, {1}}}), Error);               // past the context
  EXPECT_THROW(runner.decode({{0, 1, {96}}}), Error);              // outside the vocabulary
  EXPECT_THROW(runner.decode({{0, 1, {1, 2}}}), Error);            // not a decode step
  EXPECT_EQ(runner.decode({{1, 7, {5}}}).size(0), 1);
}

// On a CUDA machine the runner captures one graph per bucket (bf16) and replays it; elsewhere it never
// captures.
TEST(DecodeRunner, CapturesOneGraphPerBucketOnlyOnCuda) {
  const std::string dir = testing::make_temp_dir("decode-runner-graphs");
  testing::write_tiny_checkpoint(dir, testing::tiny_config_json("llama3"), 5);
  auto model = Transformer::load(dir, LoadOptions{testing::test_device(), "bf16"});
  KvCache cache = model->make_cache(4, 16);
  DecodeRunner runner(*model, cache);
  for (int64_t step = 0; step < 3; ++step) {
    runner.decode({{0, step, {1}}});
    runner.decode({{0, step + 3, {2}}, {2, step, {3}}, {3, step, {4}}});
  }
  if (model->device().is_cuda()) {
    EXPECT_TRUE(runner.uses_cuda_graphs());
    EXPECT_EQ(runner.captured_buckets(), (std::vector<int64_t>{1, 4}));
  } else {
    EXPECT_FALSE(runner.uses_cuda_graphs());
    EXPECT_TRUE(runner.captured_buckets().empty());
  }
}

}  // namespace
}  // namespace torchllm
