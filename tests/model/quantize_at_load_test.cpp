// --quantize: a Hugging Face checkpoint's projections and embedding quantized at load compute like the GGUF
// llama.cpp's converter made from the same weights, and the K types fall back on short rows.
#include "model/quantize_at_load.h"

#include <gtest/gtest.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "torchllm/error.h"
#include "torchllm/json_file.h"
#include "torchllm/model.h"

namespace torchllm {
namespace {

const std::string kData = TORCHLLM_TEST_DATA_DIR;

at::Tensor rows(const nlohmann::json& values) {
  const auto data = values.get<std::vector<std::vector<float>>>();
  at::Tensor out = at::empty({static_cast<int64_t>(data.size()), static_cast<int64_t>(data.at(0).size())});
  for (size_t i = 0; i < data.size(); ++i) out[i].copy_(at::tensor(data[i]));
  return out;
}

// Logits of `prompt` fed one token per step (the block dot products' path).
at::Tensor decode_logits(const Transformer& model, const std::vector<int64_t>& prompt) {
  KvCache cache = model.make_cache(1, static_cast<int64_t>(prompt.size()));
  std::vector<at::Tensor> steps;
  for (size_t i = 0; i < prompt.size(); ++i) {
    steps.push_back(model.forward({{0, static_cast<int64_t>(i), {prompt[i]}}}, cache));
  }
  return at::cat(steps);
}

class QuantizeAtLoad : public ::testing::TestWithParam<std::string> {};

// tests/data/gguf/models/MODEL-q8_0.gguf is llama.cpp's converter's Q8_0 file of tests/data/reference/MODEL;
// its expected logits are llama.cpp's own run on it.
TEST_P(QuantizeAtLoad, Q8_0MatchesLlamaCppOnTheConvertersQ8_0File) {
  const nlohmann::json ref = read_json_file(kData + "/gguf/expected/" + GetParam() + "-q8_0.json");
  const auto prompt = ref.at("prompt_ids").get<std::vector<int64_t>>();
  LoadOptions options{"cpu", "fp32"};
  options.quantize = "q8_0";
  const auto model = Transformer::load(kData + "/reference/" + GetParam(), options);
  const at::Tensor direct = rows(ref.at("logits"));
  const double max_abs = (decode_logits(*model, prompt) - direct).abs().max().item<double>();
  RecordProperty("max_abs_vs_llama_cpp_q8_0", std::to_string(max_abs));
  EXPECT_LE(max_abs, 1e-4 * std::max(1.0, direct.abs().max().item<double>() / 10));

  const auto dense = Transformer::load(kData + "/reference/" + GetParam(), LoadOptions{"cpu", "fp32"});
  EXPECT_LT(model->weight_bytes(), dense->weight_bytes() * 0.3) << "Q8_0 takes 34 bytes per 32 weights";
}

INSTANTIATE_TEST_SUITE_P(References, QuantizeAtLoad, ::testing::Values("qwen3", "qwen2", "llama3"));

TEST(QuantizeAtLoadTypes, KTypesFallBackOnRowsOfPartialSuperBlocks) {
  EXPECT_EQ(quantize_type_for_rows(GgmlType::kQ4_K, 512), GgmlType::kQ4_K);
  EXPECT_EQ(quantize_type_for_rows(GgmlType::kQ4_K, 96), GgmlType::kQ5_0);
  EXPECT_EQ(quantize_type_for_rows(GgmlType::kQ5_K, 96), GgmlType::kQ5_1);
  EXPECT_EQ(quantize_type_for_rows(GgmlType::kQ6_K, 96), GgmlType::kQ8_0);
  EXPECT_EQ(quantize_type_for_rows(GgmlType::kQ8_0, 96), GgmlType::kQ8_0);
  EXPECT_THROW(quantize_type_for_rows(GgmlType::kQ8_0, 100), Error);
  EXPECT_EQ(quantize_at_load_type("Q4_K"), GgmlType::kQ4_K);
  EXPECT_THROW(quantize_at_load_type("f16"), Error);
  EXPECT_THROW(quantize_at_load_type("q3_k"), Error);
}

TEST(QuantizeAtLoadTypes, EveryTypeKeepsTheGreedyContinuationClose) {
  // A K type on this 64-wide model falls back (Q4_K to Q5_0, Q5_K to Q5_1, Q6_K to Q8_0); each tracks the
  // dense logits.
  const auto dense = Transformer::load(kData + "/reference/qwen3", LoadOptions{"cpu", "fp32"});
  const std::vector<int64_t> prompt = {52, 20, 85, 52, 20, 85};
  const at::Tensor expected = decode_logits(*dense, prompt);
  // Bounds a bit above what each precision measured on this model (8 bits 0.08, 5 bits 0.3-0.5, 4 bits
  // up to 1.0 of logits spanning about 12): they catch a broken kernel or layout, not a rounding.
  const std::vector<std::pair<std::string, double>> bounds = {{"q8_0", 0.15}, {"q6_k", 0.15}, {"q5_0", 0.6},
                                                              {"q5_1", 0.6},  {"q5_k", 0.6},  {"q4_0", 1.3},
                                                              {"q4_1", 1.3},  {"q4_k", 1.3}};
  for (const auto& [type, bound] : bounds) {
    LoadOptions options{"cpu", "fp32"};
    options.quantize = type;
    const auto model = Transformer::load(kData + "/reference/qwen3", options);
    const double max_abs = (decode_logits(*model, prompt) - expected).abs().max().item<double>();
    EXPECT_LT(max_abs, bound) << type;
    std::cout << type << " max |logit - dense| " << max_abs << "\n";
    EXPECT_GT(max_abs, 0.0) << type << " changed nothing";
  }
}

TEST(QuantizeAtLoadTypes, RefusedForGgufFilesAndUnknownTypes) {
  LoadOptions options{"cpu", "fp32"};
  options.quantize = "q4_0";
  EXPECT_THROW(Transformer::load(kData + "/gguf/models/qwen3-f32.gguf", options), Error);
  options.quantize = "q9_9";
  EXPECT_THROW(Transformer::load(kData + "/reference/qwen3", options), Error);
}

}  // namespace
}  // namespace torchllm
