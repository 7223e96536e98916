// GPT-2 (GPT2LMHeadModel): its Hugging Face checkpoint (Conv1D weights [in, out], LayerNorm with bias,
// learned positions, gelu_new) and llama.cpp's GGUF of it give the same logits; the limit of its learned
// positions is a clear error. tools/make_gguf_references.py made tests/data/gguf/models/gpt2-*;
// gguf_llama_cpp_test compares those files with llama.cpp's own runs, and forward_consistency / decode_runner
// cover GPT-2 as a tiny variant.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tiny_checkpoint.h"
#include "torchllm/checkpoint.h"
#include "torchllm/error.h"
#include "torchllm/gguf_model.h"
#include "torchllm/json_file.h"
#include "torchllm/model.h"
#include "torchllm/safetensors.h"

namespace torchllm {
namespace {

const std::string kModels = std::string(TORCHLLM_TEST_DATA_DIR) + "/gguf/models";
const std::string kHf = kModels + "/gpt2-hf";

std::vector<int64_t> prompt() {
  return read_json_file(std::string(TORCHLLM_TEST_DATA_DIR) + "/reference/qwen3/reference.json")
      .at("prompt_ids")
      .get<std::vector<int64_t>>();
}

at::Tensor all_logits(const Transformer& model, const std::vector<int64_t>& ids) {
  KvCache cache = model.make_cache(1, static_cast<int64_t>(ids.size()));
  return model.forward({{0, 0, ids, true}}, cache);
}

TEST(Gpt2, ConfigurationOfTheCheckpointAndItsGguf) {
  const ModelConfig hf = load_model_config(kHf);
  const ModelConfig g = gguf_model_config(GgufModelFiles(kModels + "/gpt2-f32.gguf"));
  EXPECT_EQ(hf.architecture, "GPT2LMHeadModel");
  EXPECT_EQ(g.architecture, hf.architecture);
  EXPECT_EQ(hf.hidden_size, 64);
  EXPECT_EQ(hf.intermediate_size, 256);  // n_inner null: 4 * n_embd
  EXPECT_EQ(hf.head_dim, 16);
  EXPECT_EQ(hf.max_position_embeddings, 64);
  EXPECT_TRUE(hf.tie_word_embeddings);
  for (const ModelConfig* c : {&g}) {
    EXPECT_EQ(c->vocab_size, hf.vocab_size);
    EXPECT_EQ(c->hidden_size, hf.hidden_size);
    EXPECT_EQ(c->intermediate_size, hf.intermediate_size);
    EXPECT_EQ(c->num_layers, hf.num_layers);
    EXPECT_EQ(c->num_heads, hf.num_heads);
    EXPECT_EQ(c->head_dim, hf.head_dim);
    EXPECT_EQ(c->max_position_embeddings, hf.max_position_embeddings);
    EXPECT_FLOAT_EQ(static_cast<float>(c->rms_norm_eps), static_cast<float>(hf.rms_norm_eps));
  }
}

TEST(Gpt2, CheckpointAndGgufGiveTheSameLogits) {
  auto from_hf = Transformer::load(kHf, LoadOptions{"cpu", "fp32"});
  auto from_gguf = Transformer::load(kModels + "/gpt2-f32.gguf", LoadOptions{"cpu", "fp32"});
  const at::Tensor a = all_logits(*from_hf, prompt());
  const at::Tensor b = all_logits(*from_gguf, prompt());
  ASSERT_EQ(a.sizes(), b.sizes());
  EXPECT_LE((a - b).abs().max().item<double>(), 1e-5);
  EXPECT_GT(a.std().item<double>(), 0.1);  // not vacuous
  EXPECT_EQ(from_hf->parameter_count(), from_gguf->parameter_count());
}

// The original gpt2 release names its tensors without the "transformer." prefix (GPT2Model's state dict).
TEST(Gpt2, CheckpointWithoutTheTransformerPrefixLoads) {
  const std::string dir = testing::make_temp_dir("gpt2-unprefixed");
  std::system(("cp '" + kHf + "/config.json' '" + kHf + "/tokenizer.json' '" + dir + "/'").c_str());
  Checkpoint original(kHf);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const std::string& name : original.names()) {
    const TensorEntry& e = original.entry(name);
    at::Tensor t = at::empty(e.shape, at::kFloat);
    original.load_into(name, t);
    tensors.emplace_back(name.substr(std::string("transformer.").size()), t);
  }
  tensors.emplace_back("h.0.attn.bias", at::ones({1, 1, 64, 64}).tril());  // the causal-mask buffer
  write_safetensors(dir + "/model.safetensors", tensors, {{"format", "pt"}});
  auto a = Transformer::load(kHf, LoadOptions{"cpu", "fp32"});
  auto b = Transformer::load(dir, LoadOptions{"cpu", "fp32"});
  EXPECT_TRUE(at::equal(all_logits(*a, prompt()), all_logits(*b, prompt())));
}

TEST(Gpt2, AContextBeyondTheLearnedPositionsIsAClearError) {
  auto model = Transformer::load(kHf, LoadOptions{"cpu", "fp32"});
  EXPECT_NO_THROW(model->make_cache(1, 64));
  try {
    model->make_cache(1, 65);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("64 learned positions"), std::string::npos) << e.what();
  }
}

TEST(Gpt2, TensorNamesFollowLlamaCpp) {
  EXPECT_EQ(gguf_tensor_name("transformer.wte.weight"), "token_embd.weight");
  EXPECT_EQ(gguf_tensor_name("transformer.wpe.weight"), "position_embd.weight");
  EXPECT_EQ(gguf_tensor_name("transformer.h.3.attn.c_attn.weight"), "blk.3.attn_qkv.weight");
  EXPECT_EQ(gguf_tensor_name("transformer.h.0.mlp.c_proj.bias"), "blk.0.ffn_down.bias");
  EXPECT_EQ(gguf_tensor_name("transformer.ln_f.bias"), "output_norm.bias");
}

TEST(Gpt2, OtherActivationsAreRefused) {
  nlohmann::json config = testing::tiny_config_json("gpt2");
  config["activation_function"] = "relu";
  try {
    parse_model_config(config, "config.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("gelu_new"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace torchllm
