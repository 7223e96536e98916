#include "tiny_checkpoint.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "torchllm/model.h"
#include "torchllm/model_config.h"
#include "torchllm/safetensors.h"

namespace torchllm::testing {

std::string test_device() {
  const char* device = std::getenv("TORCHLLM_TEST_DEVICE");
  return device != nullptr && *device != '\0' ? device : "cpu";
}

std::vector<std::string> tiny_variants() { return {"qwen3", "qwen2", "llama3", "llama2", "mistral", "gpt2"}; }

nlohmann::json tiny_config_json(const std::string& variant) {
  if (variant == "gpt2") {
    return {{"architectures", {"GPT2LMHeadModel"}},
            {"model_type", "gpt2"},
            {"vocab_size", 96},
            {"n_embd", 64},
            {"n_layer", 2},
            {"n_head", 4},
            {"n_positions", 256},
            {"n_inner", 96},
            {"layer_norm_epsilon", 1e-5},
            {"activation_function", "gelu_new"},
            {"torch_dtype", "float32"}};
  }
  nlohmann::json c = {
      {"vocab_size", 96},
      {"hidden_size", 64},
      {"intermediate_size", 96},
      {"num_hidden_layers", 2},
      {"num_attention_heads", 4},
      {"num_key_value_heads", 2},
      {"max_position_embeddings", 256},
      {"rms_norm_eps", 1e-6},
      {"rope_theta", 10000.0},
      {"hidden_act", "silu"},
      {"torch_dtype", "float32"},
  };
  if (variant == "qwen3") {
    c["architectures"] = {"Qwen3ForCausalLM"};
    c["model_type"] = "qwen3";
    c["head_dim"] = 32;  // explicit and unequal to hidden/heads, as in real Qwen3
    c["tie_word_embeddings"] = true;
    c["rope_theta"] = 1000000.0;
  } else if (variant == "qwen2") {
    c["architectures"] = {"Qwen2ForCausalLM"};
    c["model_type"] = "qwen2";
    c["tie_word_embeddings"] = false;
  } else if (variant == "llama3") {
    c["architectures"] = {"LlamaForCausalLM"};
    c["model_type"] = "llama";
    c["tie_word_embeddings"] = true;
    c["rope_theta"] = 500000.0;
    c["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", 32.0},
                         {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0},
                         {"original_max_position_embeddings", 16}};
  } else if (variant == "llama2") {
    c["architectures"] = {"LlamaForCausalLM"};
    c["model_type"] = "llama";
    c["num_key_value_heads"] = 4;
    c["tie_word_embeddings"] = false;
  } else if (variant == "mistral") {
    c["architectures"] = {"MistralForCausalLM"};
    c["model_type"] = "mistral";
    c["tie_word_embeddings"] = false;
    c["sliding_window"] = 6;
  } else if (variant == "llama2-large") {  // ~78M parameters: large enough to measure loading memory
    c["architectures"] = {"LlamaForCausalLM"};
    c["model_type"] = "llama";
    c["vocab_size"] = 16000;
    c["hidden_size"] = 1024;
    c["intermediate_size"] = 2816;
    c["num_hidden_layers"] = 4;
    c["num_attention_heads"] = 16;
    c["num_key_value_heads"] = 8;
  } else {
    throw std::invalid_argument("unknown tiny variant " + variant);
  }
  return c;
}

void write_tiny_checkpoint(const std::string& dir, const nlohmann::json& config, uint64_t seed,
                           const std::string& storage_dtype, double std) {
  std::ofstream(dir + "/config.json") << config.dump(2);
  const ModelConfig parsed = parse_model_config(config, dir + "/config.json");
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const at::ScalarType dtype = storage_dtype == "BF16"  ? at::kBFloat16
                               : storage_dtype == "F16" ? at::kHalf
                                                        : at::kFloat;
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const TensorSpec& spec : checkpoint_tensor_specs(parsed)) {
    at::Tensor t = at::normal(0.0, std, spec.shape, gen, at::TensorOptions().dtype(at::kFloat));
    const bool layer_norm_weight = spec.name.find(".ln_") != std::string::npos &&
                                   spec.name.compare(spec.name.size() - 7, 7, ".weight") == 0;
    if (spec.name.find("norm") != std::string::npos || layer_norm_weight) t = 1.0 + t * (0.1 / std);
    tensors.emplace_back(spec.name, t.to(dtype));
  }
  write_safetensors(dir + "/model.safetensors", tensors, {{"format", "pt"}});
}

std::string make_temp_dir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
  return pattern;
}

}  // namespace torchllm::testing
