#include "torchllm/model_shapes.h"

#include <nlohmann/json.hpp>

#include "torchllm/error.h"

namespace torchllm {
namespace {

struct Shape {
  const char* name;
  const char* architecture;
  int64_t vocab, hidden, intermediate, layers, heads, kv_heads, head_dim, max_positions;
  double rope_theta;
  bool tied;
  double llama3_factor;  // 0: no rope scaling
};

// From each model's config.json on the Hugging Face hub.
constexpr Shape kShapes[] = {
    {"qwen3-0.6b", "Qwen3ForCausalLM", 151936, 1024, 3072, 28, 16, 8, 128, 40960, 1e6, true, 0},
    {"qwen3-1.7b", "Qwen3ForCausalLM", 151936, 2048, 6144, 28, 16, 8, 128, 40960, 1e6, true, 0},
    {"qwen3-4b", "Qwen3ForCausalLM", 151936, 2560, 9728, 36, 32, 8, 128, 40960, 1e6, true, 0},
    {"qwen3-8b", "Qwen3ForCausalLM", 151936, 4096, 12288, 36, 32, 8, 128, 40960, 1e6, false, 0},
    {"qwen2.5-7b", "Qwen2ForCausalLM", 152064, 3584, 18944, 28, 28, 4, 128, 32768, 1e6, false, 0},
    {"llama3.2-1b", "LlamaForCausalLM", 128256, 2048, 8192, 16, 32, 8, 64, 131072, 500000, true, 32},
    {"llama3.2-3b", "LlamaForCausalLM", 128256, 3072, 8192, 28, 24, 8, 128, 131072, 500000, true, 32},
    {"llama3.1-8b", "LlamaForCausalLM", 128256, 4096, 14336, 32, 32, 8, 128, 131072, 500000, false, 8},
    {"tinyllama-1.1b", "LlamaForCausalLM", 32000, 2048, 5632, 22, 32, 4, 64, 2048, 10000, false, 0},
    {"llama2-7b", "LlamaForCausalLM", 32000, 4096, 11008, 32, 32, 32, 128, 4096, 10000, false, 0},
};

}  // namespace

std::vector<std::string> model_shape_names() {
  std::vector<std::string> names;
  for (const Shape& s : kShapes) names.push_back(s.name);
  return names;
}

ModelConfig model_shape(const std::string& name) {
  for (const Shape& s : kShapes) {
    if (name != s.name) continue;
    nlohmann::json c = {{"architectures", {s.architecture}},
                        {"vocab_size", s.vocab},
                        {"hidden_size", s.hidden},
                        {"intermediate_size", s.intermediate},
                        {"num_hidden_layers", s.layers},
                        {"num_attention_heads", s.heads},
                        {"num_key_value_heads", s.kv_heads},
                        {"head_dim", s.head_dim},
                        {"max_position_embeddings", s.max_positions},
                        {"rms_norm_eps", 1e-6},
                        {"rope_theta", s.rope_theta},
                        {"hidden_act", "silu"},
                        {"tie_word_embeddings", s.tied},
                        {"torch_dtype", "bfloat16"}};
    if (s.llama3_factor > 0) {
      c["rope_scaling"] = {{"rope_type", "llama3"},
                           {"factor", s.llama3_factor},
                           {"low_freq_factor", 1.0},
                           {"high_freq_factor", 4.0},
                           {"original_max_position_embeddings", 8192}};
    }
    return parse_model_config(c, std::string("shape ") + s.name);
  }
  std::string names;
  for (const Shape& s : kShapes) names += std::string(names.empty() ? "" : ", ") + s.name;
  throw Error::invalid_argument("unknown shape '" + name + "' (known: " + names + ")");
}

}  // namespace torchllm
