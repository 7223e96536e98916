#pragma once

// config.json of a Hugging Face causal LM, as the fields that decide the math. Both the transformers 4.x
// spelling (rope_theta + rope_scaling, torch_dtype) and the 5.x one (rope_parameters, dtype) are read.

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace torchllm {

struct RopeScaling {
  enum class Type { kDefault, kLinear, kLlama3 };
  Type type = Type::kDefault;
  double factor = 1.0;
  double low_freq_factor = 1.0;                     // llama3
  double high_freq_factor = 4.0;                    // llama3
  int64_t original_max_position_embeddings = 8192;  // llama3
};

struct ModelConfig {
  std::string architecture;  // e.g. "Qwen3ForCausalLM"
  std::string model_type;    // e.g. "qwen3"
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t max_position_embeddings = 0;  // for learned positions (GPT-2), a hard limit
  double rms_norm_eps = 1e-6;           // the norms' epsilon (RMSNorm; LayerNorm for GPT-2)
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  // GGUF's rope_freqs tensor (llama.cpp's form of llama3 scaling): inverse frequency i is divided by factor
  // i.
  std::vector<float> rope_freq_factors;
  bool tie_word_embeddings = false;
  bool attention_bias = false;
  std::optional<int64_t> sliding_window;  // only when the checkpoint actually uses one
  std::string dtype;                      // "bfloat16", "float16", "float32" or empty
};

// Throws Error naming `where` and the field for a missing/ill-typed field, an unsupported activation, rope
// type or sliding-window layout.
ModelConfig parse_model_config(const nlohmann::json& json, const std::string& where);
ModelConfig load_model_config(const std::string& model_dir);

}  // namespace torchllm
