// GGUF files of the Hugging Face reference checkpoints, written by llama.cpp's converter
// (tools/make_gguf_models.py), load into the same model as the safetensors directories: the same
// configuration and, at fp32, the same logits. This ties GGUF loading to the Hugging Face proof.
#include "torchllm/gguf_model.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "torchllm/error.h"
#include "torchllm/json_file.h"
#include "torchllm/model.h"

namespace torchllm {
namespace {

const std::string kData = TORCHLLM_TEST_DATA_DIR;

at::Tensor all_logits(const Transformer& model, const std::vector<int64_t>& prompt) {
  KvCache cache = model.make_cache(1, static_cast<int64_t>(prompt.size()));
  return model.forward({{0, 0, prompt, true}}, cache);
}

class GgufOfReference : public ::testing::TestWithParam<std::string> {
 protected:
  std::string hf_dir() const { return kData + "/reference/" + GetParam(); }
  std::string gguf() const { return kData + "/gguf/models/" + GetParam() + "-f32.gguf"; }
};

TEST_P(GgufOfReference, ConfigurationMatchesConfigJson) {
  const ModelConfig hf = load_model_config(hf_dir());
  const ModelConfig g = gguf_model_config(GgufModelFiles(gguf()));
  EXPECT_EQ(g.architecture, hf.architecture);
  EXPECT_EQ(g.vocab_size, hf.vocab_size);
  EXPECT_EQ(g.hidden_size, hf.hidden_size);
  EXPECT_EQ(g.intermediate_size, hf.intermediate_size);
  EXPECT_EQ(g.num_layers, hf.num_layers);
  EXPECT_EQ(g.num_heads, hf.num_heads);
  EXPECT_EQ(g.num_kv_heads, hf.num_kv_heads);
  EXPECT_EQ(g.head_dim, hf.head_dim);
  EXPECT_EQ(g.max_position_embeddings, hf.max_position_embeddings);
  EXPECT_EQ(g.rope_theta, hf.rope_theta);
  EXPECT_FLOAT_EQ(static_cast<float>(g.rms_norm_eps), static_cast<float>(hf.rms_norm_eps));  // GGUF: float32
  EXPECT_EQ(g.tie_word_embeddings, hf.tie_word_embeddings);
  // llama3 scaling reaches GGUF as the rope_freqs tensor, the other scalings as metadata.
  EXPECT_EQ(!g.rope_freq_factors.empty(), hf.rope_scaling.type == RopeScaling::Type::kLlama3);
}

TEST_P(GgufOfReference, Fp32LogitsMatchTheSafetensorsWithin1e5) {
  const nlohmann::json ref = read_json_file(hf_dir() + "/reference.json");
  const auto prompt = ref.at("prompt_ids").get<std::vector<int64_t>>();
  auto from_hf = Transformer::load(hf_dir(), LoadOptions{"cpu", "fp32"});
  auto from_gguf = Transformer::load(gguf(), LoadOptions{"cpu", "fp32"});
  const at::Tensor a = all_logits(*from_hf, prompt);
  const at::Tensor b = all_logits(*from_gguf, prompt);
  ASSERT_EQ(a.sizes(), b.sizes());
  const double max_abs = (a - b).abs().max().item<double>();
  RecordProperty("max_abs_logit_diff", std::to_string(max_abs));
  EXPECT_LE(max_abs, 1e-5) << GetParam();
  // Not vacuous: the logits vary across the vocabulary.
  EXPECT_GT(a.std().item<double>(), 0.1);
}

INSTANTIATE_TEST_SUITE_P(Models, GgufOfReference, ::testing::Values("llama3", "qwen2", "qwen3"));

TEST(GgufModel, TensorNamesFollowLlamaCpp) {
  EXPECT_EQ(gguf_tensor_name("model.embed_tokens.weight"), "token_embd.weight");
  EXPECT_EQ(gguf_tensor_name("model.layers.12.self_attn.q_proj.weight"), "blk.12.attn_q.weight");
  EXPECT_EQ(gguf_tensor_name("model.layers.0.mlp.down_proj.weight"), "blk.0.ffn_down.weight");
  EXPECT_EQ(gguf_tensor_name("lm_head.weight"), "output.weight");
  EXPECT_EQ(gguf_tensor_name("model.layers.0.self_attn.rotary_emb.inv_freq"), "");
}

TEST(GgufModel, WithoutTheLlamaRowPermutationTheLogitsDiffer) {
  // The q/k rows of a llama GGUF are stored permuted; loading them as they are must not pass the test above.
  const std::string dir = kData + "/reference/llama3";
  const nlohmann::json ref = read_json_file(dir + "/reference.json");
  const auto prompt = ref.at("prompt_ids").get<std::vector<int64_t>>();
  GgufModelFiles files(kData + "/gguf/models/llama3-f32.gguf");
  const GgufTensorInfo* q = files.find_tensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  // Row 1 of head 0 in GGUF order is row head_dim / 2 in Hugging Face order.
  auto hf = Transformer::load(dir, LoadOptions{"cpu", "fp32"});
  const int64_t hidden = hf->config().hidden_size, half = hf->config().head_dim / 2;
  const float* gguf_rows = reinterpret_cast<const float*>(files.data(*q));
  at::Tensor gguf_row1 = at::from_blob(const_cast<float*>(gguf_rows) + hidden, {hidden}, at::kFloat).clone();
  // Compare against the safetensors: HF row `half` equals GGUF row 1, HF row 1 does not.
  const std::vector<float> first = [&] {
    Checkpoint ckpt(dir);
    at::Tensor w = at::empty({hf->config().num_heads * hf->config().head_dim, hidden});
    ckpt.load_into("model.layers.0.self_attn.q_proj.weight", w);
    return std::vector<float>{(w[half] - gguf_row1).abs().max().item<float>(),
                              (w[1] - gguf_row1).abs().max().item<float>()};
  }();
  EXPECT_EQ(first[0], 0.0f);
  EXPECT_GT(first[1], 0.0f);
}

TEST(GgufModel, UnsupportedArchitectureNamesTheSupportedOnes) {
  try {
    Transformer::load(kData + "/gguf/v3_default.gguf", LoadOptions{"cpu", "fp32"});  // architecture "test"
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("'test'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("qwen3, qwen2, llama"), std::string::npos) << e.what();
  }
}

TEST(GgufModel, SplitSetLoadsFromItsFirstPartOrItsDirectory) {
  const std::string split = kData + "/gguf/models/split";
  const nlohmann::json ref = read_json_file(kData + "/reference/qwen3/reference.json");
  const auto prompt = ref.at("prompt_ids").get<std::vector<int64_t>>();
  // The same F16 values as one file (llama.cpp's quantizer and its converter round float32 alike).
  const at::Tensor whole = all_logits(
      *Transformer::load(kData + "/gguf/models/qwen3-f16.gguf", LoadOptions{"cpu", "fp32"}), prompt);
  for (const std::string& path : {split + "/qwen3-f16-00001-of-00002.gguf", split}) {
    EXPECT_TRUE(at::equal(all_logits(*Transformer::load(path, LoadOptions{"cpu", "fp32"}), prompt), whole))
        << path;
  }
  EXPECT_EQ(GgufModelFiles(split + "/qwen3-f16-00001-of-00002.gguf").parts().size(), 2u);
  try {
    GgufModelFiles second(split + "/qwen3-f16-00002-of-00002.gguf");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("give the first part"), std::string::npos) << e.what();
  }
}

TEST(GgufModel, VocabularyOnlyFileSaysItHasNoWeights) {
  try {
    Transformer::load(kData + "/gguf/tokenizer/vocab-spm.gguf", LoadOptions{"cpu", "fp32"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds no tensors"), std::string::npos) << e.what();
  }
}

TEST(GgufModel, DirectoryWithSeveralModelsAsksForOne) {
  try {
    resolve_gguf_path(kData + "/gguf/models");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("give one file with -m"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace torchllm
