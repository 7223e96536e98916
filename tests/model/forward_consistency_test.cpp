// The forward pass must give the same logits however a sequence reaches a position: whole-prompt prefill,
// prompt chunks, token-by-token decode, or decode batched with other sequences at other positions.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "reference_fixtures.h"
#include "tiny_checkpoint.h"
#include "torchllm/model.h"

namespace torchllm {
namespace {

constexpr double kTolerance = 1e-5;

class ForwardConsistency : public ::testing::TestWithParam<std::string> {
 protected:
  static std::unique_ptr<Transformer> load(const std::string& variant, const std::string& dtype) {
    const std::string dir = testing::make_temp_dir("fwd-" + variant);
    testing::write_tiny_checkpoint(dir, testing::tiny_config_json(variant), 7);
    return Transformer::load(dir, LoadOptions{"cpu", dtype});
  }

  // Logits after every token of `tokens`, from one whole-sequence prefill: [tokens, vocab]
  static at::Tensor reference_logits(const Transformer& model, const std::vector<int64_t>& tokens) {
    KvCache cache = model.make_cache(1, 64);
    return model.forward({{0, 0, tokens, true}}, cache);
  }
};

TEST_P(ForwardConsistency, TokenByTokenDecodeMatchesWholePrefill) {
  auto model = load(GetParam(), "fp32");
  const auto tokens = testing::token_sequence(13, 1, model->config().vocab_size);
  at::Tensor full = reference_logits(*model, tokens);
  KvCache cache = model->make_cache(1, 64);
  for (size_t i = 0; i < tokens.size(); ++i) {
    at::Tensor step = model->forward({{0, static_cast<int64_t>(i), {tokens[i]}}}, cache);
    EXPECT_LE((step[0] - full[i]).abs().max().item<double>(), kTolerance) << "position " << i;
  }
}

TEST_P(ForwardConsistency, ChunkedPrefillMatchesWholePrefill) {
  auto model = load(GetParam(), "fp32");
  const auto tokens = testing::token_sequence(13, 2, model->config().vocab_size);
  at::Tensor full = reference_logits(*model, tokens);
  KvCache cache = model->make_cache(1, 64);
  std::vector<at::Tensor> pieces;
  int64_t start = 0;
  for (int64_t len : {5, 1, 4, 3}) {
    std::vector<int64_t> chunk(tokens.begin() + start, tokens.begin() + start + len);
    pieces.push_back(model->forward({{0, start, chunk, true}}, cache));
    start += len;
  }
  EXPECT_LE((at::cat(pieces) - full).abs().max().item<double>(), kTolerance);
  // Only the last row when all_logits is off.
  KvCache again = model->make_cache(1, 64);
  at::Tensor last = model->forward({{0, 0, tokens, false}}, again);
  ASSERT_EQ(last.size(0), 1);
  EXPECT_LE((last[0] - full[12]).abs().max().item<double>(), kTolerance);
}

TEST_P(ForwardConsistency, BatchedSequencesAtDifferentPositionsMatchSoloRuns) {
  auto model = load(GetParam(), "fp32");
  const int64_t vocab = model->config().vocab_size;
  const auto a = testing::token_sequence(10, 3, vocab), b = testing::token_sequence(14, 4, vocab),
             c = testing::token_sequence(9, 5, vocab), d = testing::token_sequence(4, 6, vocab);
  const at::Tensor ra = reference_logits(*model, a), rb = reference_logits(*model, b),
                   rc = reference_logits(*model, c), rd = reference_logits(*model, d);
  KvCache cache = model->make_cache(4, 64);
  // a in slot 2, b in slot 0 (non-contiguous decode group), d in slot 1, c prefilled in chunks in slot 3.
  model->forward({{2, 0, {a.begin(), a.begin() + 7}}}, cache);
  model->forward({{0, 0, {b.begin(), b.begin() + 11}}, {1, 0, {d.begin(), d.begin() + 2}}}, cache);

  at::Tensor step1 =
      model->forward({{2, 7, {a[7]}}, {0, 11, {b[11]}}, {3, 0, {c.begin(), c.begin() + 4}, true}}, cache);
  ASSERT_EQ(step1.size(0), 6);
  EXPECT_LE((step1[0] - ra[7]).abs().max().item<double>(), kTolerance);
  EXPECT_LE((step1[1] - rb[11]).abs().max().item<double>(), kTolerance);
  EXPECT_LE((step1.narrow(0, 2, 4) - rc.narrow(0, 0, 4)).abs().max().item<double>(), kTolerance);

  at::Tensor step2 = model->forward(
      {{3, 4, {c.begin() + 4, c.end()}}, {1, 2, {d[2]}}, {0, 12, {b[12]}}, {2, 8, {a[8]}}}, cache);
  EXPECT_LE((step2[0] - rc[8]).abs().max().item<double>(), kTolerance);
  EXPECT_LE((step2[1] - rd[2]).abs().max().item<double>(), kTolerance);
  EXPECT_LE((step2[2] - rb[12]).abs().max().item<double>(), kTolerance);
  EXPECT_LE((step2[3] - ra[8]).abs().max().item<double>(), kTolerance);

  // Contiguous decode group (slots 0..3).
  at::Tensor step3 = model->forward({{0, 13, {b[13]}}, {1, 3, {d[3]}}, {2, 9, {a[9]}}}, cache);
  EXPECT_LE((step3[0] - rb[13]).abs().max().item<double>(), kTolerance);
  EXPECT_LE((step3[1] - rd[3]).abs().max().item<double>(), kTolerance);
  EXPECT_LE((step3[2] - ra[9]).abs().max().item<double>(), kTolerance);
}

// Random weights give near-ties that bf16 rounding may flip, so bf16 is checked teacher-forced along the fp32
// greedy path: logits close to fp32's, and the same choice wherever fp32's margin clearly exceeds that error.
TEST_P(ForwardConsistency, Bf16FollowsFp32WhereTheChoiceIsClear) {
  auto fp32 = load(GetParam(), "fp32");
  auto bf16 = load(GetParam(), "bf16");
  ASSERT_EQ(bf16->dtype(), at::kBFloat16);
  std::vector<int64_t> tokens = testing::token_sequence(6, 9, fp32->config().vocab_size);
  for (int i = 0; i < 24; ++i) {
    KvCache cache = fp32->make_cache(1, 64);
    tokens.push_back(fp32->forward({{0, 0, tokens}}, cache)[0].argmax().item<int64_t>());
  }
  KvCache c32 = fp32->make_cache(1, 64), c16 = bf16->make_cache(1, 64);
  at::Tensor l32 = fp32->forward({{0, 0, tokens, true}}, c32);
  at::Tensor l16 = bf16->forward({{0, 0, tokens, true}}, c16);
  const double scale = l32.abs().max().item<double>();
  const double diff = (l16 - l32).abs().max().item<double>();
  EXPECT_LE(diff, 0.06 * scale);
  at::Tensor top = std::get<0>(l32.topk(2, -1));
  at::Tensor clear = (top.select(1, 0) - top.select(1, 1)) > 2 * diff;  // [tokens]
  at::Tensor agree = l16.argmax(-1).eq(l32.argmax(-1));
  EXPECT_GE(clear.sum().item<int64_t>(), 3) << "too few clear choices to say anything";
  EXPECT_TRUE(agree.logical_or(clear.logical_not()).all().item<bool>());
}

INSTANTIATE_TEST_SUITE_P(Variants, ForwardConsistency, ::testing::ValuesIn(testing::tiny_variants()));

}  // namespace
}  // namespace torchllm
