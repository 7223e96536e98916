// The q8_0 KV cache (--cache-type q8_0): every path that writes or reads it sees the same quantized keys and
// values, so decode, chunked prefill and batched decode agree with each other as closely as with a float
// cache; and the model with it follows the model with a float cache.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "model/kernels/kv_q8_0.h"
#include "model/kv_quantization.h"
#include "reference_fixtures.h"
#include "tiny_checkpoint.h"
#include "torchllm/decode_runner.h"
#include "torchllm/error.h"
#include "torchllm/model.h"

namespace torchllm {
namespace {

constexpr double kTolerance = 1e-5;

// The tiny variants with a q8_0-compatible head size (their own is 16 but for Qwen3's 32).
std::unique_ptr<Transformer> load(const std::string& variant, const std::string& cache_type,
                                  const std::string& dtype = "fp32") {
  nlohmann::json config = testing::tiny_config_json(variant);
  config["head_dim"] = 32;
  const std::string dir = testing::make_temp_dir("q8kv-" + variant);
  testing::write_tiny_checkpoint(dir, config, 11);
  LoadOptions options{"cpu", dtype};
  options.kv_cache_type = cache_type;
  return Transformer::load(dir, options);
}

class KvQ8Cache : public ::testing::TestWithParam<std::string> {};

TEST_P(KvQ8Cache, PoolsHoldQ8RowsAndHalfTheBytes) {
  auto model = load(GetParam(), "q8_0", "bf16");
  ASSERT_EQ(model->kv_cache_type(), KvCacheType::kQ8_0);
  const ModelConfig& c = model->config();
  EXPECT_EQ(model->kv_bytes_per_token(), 2u * c.num_layers * c.num_kv_heads * (32 + 4));
  EXPECT_EQ(kv_bytes_per_token(c, at::kBFloat16), 2u * c.num_layers * c.num_kv_heads * 32 * 2);
  KvCache cache = model->make_cache(2, 16);
  EXPECT_EQ(cache.keys(0).scalar_type(), at::kByte);
  EXPECT_EQ(cache.keys(0).sizes(), (std::vector<int64_t>{3, c.num_kv_heads, 16, kv_q8_row_bytes(32)}));
  EXPECT_EQ(cache.bytes(), model->kv_bytes_per_token() * 3 * 16);
}

// The fused store and the paged kernel (decode) against libtorch's dequantized keys and scaled-dot-product
// attention (whole-prompt and chunked prefill): the same quantized K/V, so float32 rounding apart.
TEST_P(KvQ8Cache, DecodeAndChunkedPrefillMatchWholePrefill) {
  auto model = load(GetParam(), "q8_0");
  const auto tokens = testing::token_sequence(19, 3, model->config().vocab_size);
  KvCache whole = model->make_cache(1, 64);
  const at::Tensor full = model->forward({{0, 0, tokens, true}}, whole);  // [tokens, vocab]
  KvCache stepped = model->make_cache(1, 64);
  int64_t start = 0;
  for (int64_t len : {5, 3}) {
    const std::vector<int64_t> chunk(tokens.begin() + start, tokens.begin() + start + len);
    const at::Tensor logits = model->forward({{0, start, chunk, true}}, stepped);
    EXPECT_LE((logits - full.narrow(0, start, len)).abs().max().item<double>(), kTolerance) << start;
    start += len;
  }
  for (; start < static_cast<int64_t>(tokens.size()); ++start) {
    const at::Tensor step = model->forward({{0, start, {tokens[start]}}}, stepped);
    EXPECT_LE((step[0] - full[start]).abs().max().item<double>(), kTolerance) << "position " << start;
  }
  // The two caches hold the same keys and values but for float32 rounding before the quantization (a
  // step's own matrix product), which can move a value by one quantization step.
  for (const auto& [a, b] :
       {std::pair{stepped.keys(1), whole.keys(1)}, {stepped.values(1), whole.values(1)}}) {
    const at::Tensor x = dequantize_kv_rows(a, at::kFloat), y = dequantize_kv_rows(b, at::kFloat);
    EXPECT_LE((x - y).abs().max().item<double>(), 1.01 * y.abs().max().item<double>() / 127);
    EXPECT_GT(y.abs().max().item<double>(), 0.0);
  }
}

// Several sequences in a paged pool with shuffled 4-token blocks, decoded as one batch by the DecodeRunner.
TEST_P(KvQ8Cache, BatchedDecodeOverShuffledBlocksMatchesSoloRuns) {
  auto model = load(GetParam(), "q8_0");
  const int64_t vocab = model->config().vocab_size;
  const std::vector<std::vector<int64_t>> seqs = {testing::token_sequence(14, 4, vocab),
                                                  testing::token_sequence(9, 5, vocab),
                                                  testing::token_sequence(12, 6, vocab)};
  KvCache cache = model->make_paged_cache(12, 4, 3, 16);
  cache.set_block_table(0, {7, 2, 9, 0});
  cache.set_block_table(1, {4, 11, 1, 5});
  cache.set_block_table(2, {10, 3, 8, 6});
  DecodeRunner runner(*model, cache);
  std::vector<SequenceChunk> prefill;
  for (int64_t s = 0; s < 3; ++s) prefill.push_back({s, 0, {seqs[s].begin(), seqs[s].begin() + 6}});
  model->forward(prefill, cache);
  for (int64_t pos = 6; pos < 9; ++pos) {
    std::vector<SequenceChunk> step;
    for (int64_t s = 0; s < 3; ++s) step.push_back({s, pos, {seqs[s][pos]}});
    const at::Tensor logits = runner.decode(step);  // [3, vocab]
    for (int64_t s = 0; s < 3; ++s) {
      KvCache solo = model->make_cache(1, 16);
      const std::vector<int64_t> prefix(seqs[s].begin(), seqs[s].begin() + pos + 1);
      const at::Tensor expected = model->forward({{0, 0, prefix}}, solo)[0];
      EXPECT_LE((logits[s] - expected).abs().max().item<double>(), kTolerance) << s << " at " << pos;
    }
  }
}

// Quantizing K/V moves the logits by about what bf16 weights do, and not the clear greedy choices.
TEST_P(KvQ8Cache, FollowsTheFloatCacheWhereTheChoiceIsClear) {
  auto exact = load(GetParam(), "auto"), q8 = load(GetParam(), "q8_0");
  std::vector<int64_t> tokens = testing::token_sequence(6, 9, exact->config().vocab_size);
  for (int i = 0; i < 26; ++i) {
    KvCache cache = exact->make_cache(1, 64);
    tokens.push_back(exact->forward({{0, 0, tokens}}, cache)[0].argmax().item<int64_t>());
  }
  KvCache c32 = exact->make_cache(1, 64), c8 = q8->make_cache(1, 64);
  const at::Tensor l32 = exact->forward({{0, 0, tokens, true}}, c32);
  const at::Tensor l8 = q8->forward({{0, 0, tokens, true}}, c8);
  const double scale = l32.abs().max().item<double>();
  const double diff = (l8 - l32).abs().max().item<double>();
  EXPECT_GT(diff, 0.0) << "the q8_0 cache changed nothing: is it used?";
  EXPECT_LE(diff, 0.03 * scale);
  const at::Tensor top = std::get<0>(l32.topk(2, -1));
  const at::Tensor clear = (top.select(1, 0) - top.select(1, 1)) > 2 * diff;  // [tokens]
  const at::Tensor agree = l8.argmax(-1).eq(l32.argmax(-1));
  EXPECT_GE(clear.sum().item<int64_t>(), 3) << "too few clear choices to say anything";
  EXPECT_TRUE(agree.logical_or(clear.logical_not()).all().item<bool>());
}

// mistral: a sliding window of 6 over the quantized keys.
INSTANTIATE_TEST_SUITE_P(Variants, KvQ8Cache, ::testing::Values("qwen3", "llama3", "mistral"));

TEST(KvQ8Rows, TensorRowsAreTheScalarRows) {
  at::Tensor x = at::randn({3, 5, 64}, at::TensorOptions().dtype(at::kBFloat16));
  x[1][2].zero_();
  const at::Tensor rows = quantize_kv_rows(x);  // [3, 5, 72]
  ASSERT_EQ(rows.sizes(), (std::vector<int64_t>{3, 5, kv_q8_row_bytes(64)}));
  const at::Tensor xf = x.to(at::kFloat).contiguous();
  for (int64_t r = 0; r < 15; ++r) {
    uint8_t expected[72];
    quantize_kv_row_q8(xf.data_ptr<float>() + r * 64, 64, expected);
    EXPECT_EQ(std::memcmp(expected, rows.data_ptr<uint8_t>() + r * 72, 72), 0) << "row " << r;
  }
  const at::Tensor back = dequantize_kv_rows(rows, at::kFloat);  // [3, 5, 64]
  // Each value within half a step (d / 2 = max|block| / 254) of where it started.
  const at::Tensor blocks = xf.view({3, 5, 2, 32});
  const at::Tensor half_step = blocks.abs().amax(-1, true) / 254.0f;
  EXPECT_TRUE(((back.view({3, 5, 2, 32}) - blocks).abs() <= half_step * 1.0001f).all().item<bool>());
  EXPECT_TRUE(back[1][2].eq(0).all().item<bool>());
  EXPECT_TRUE(readable_kv(rows, at::kBFloat16).equal(back.to(at::kBFloat16)));
  EXPECT_TRUE(readable_kv(x, at::kBFloat16).is_same(x));
}

TEST(KvQ8Cache, UnusableChoicesAreClearErrors) {
  auto expect_error = [](const std::string& variant, const std::string& type, const std::string& dtype,
                         const std::string& says, bool q8_head) {
    nlohmann::json config = testing::tiny_config_json(variant);
    if (q8_head) config["head_dim"] = 32;
    const std::string dir = testing::make_temp_dir("q8kv-bad");
    testing::write_tiny_checkpoint(dir, config, 1);
    LoadOptions options{"cpu", dtype};
    options.kv_cache_type = type;
    try {
      Transformer::load(dir, options);
      ADD_FAILURE() << type << " on " << variant << " loaded";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  };
  expect_error("llama2", "q4_0", "fp32", "auto (the model's dtype) or q8_0", true);
  expect_error("llama2", "q8_0", "fp32", "multiple of 32", false);  // head_dim 16
  expect_error("gpt2", "q8_0", "fp32", "multiple of 32", false);
  expect_error("llama2", "f16", "fp32", "--dtype", true);
  // A float type equal to the dtype is the same as auto.
  nlohmann::json config = testing::tiny_config_json("llama2");
  const std::string dir = testing::make_temp_dir("q8kv-f32");
  testing::write_tiny_checkpoint(dir, config, 1);
  LoadOptions options{"cpu", "fp32"};
  options.kv_cache_type = "f32";
  EXPECT_EQ(Transformer::load(dir, options)->kv_cache_type(), KvCacheType::kModel);
  EXPECT_THROW(KvCache(1, 2, 4, 2, 8, 2, 32, at::TensorOptions().dtype(at::kFloat), /*head_major=*/false,
                       KvCacheType::kQ8_0),
               Error);
}

}  // namespace
}  // namespace torchllm
