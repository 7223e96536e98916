#pragma once

#include <string>

#include "torchllm/model_config.h"

namespace torchllm {

// What distinguishes the supported families: architectures are data, one transformer serves them all.
struct Architecture {
  const char* name;  // config.json "architectures"[0]
  bool qk_norm;      // per-head RMSNorm on q and k before RoPE (Qwen3)
  bool qkv_bias;     // q/k/v projections always carry a bias (Qwen2); otherwise config.attention_bias decides
  const char*
      gguf_name;  // GGUF general.architecture ("llama", "qwen2", ...), nullptr when another entry reads it
  bool gguf_qk_interleaved;  // llama.cpp's converter permuted the q/k rows for its interleaved rotary layout
  // GPT-2's block: LayerNorm with a bias instead of RMSNorm, learned absolute positions added to the input
  // instead of RoPE, an up -> gelu (tanh approximation) -> down MLP instead of SwiGLU, a bias on every linear
  // layer, and Conv1D checkpoint weights stored [in, out].
  bool gpt2_block = false;
};

// Throws Error(kUnsupported) listing the supported architectures.
const Architecture& find_architecture(const std::string& name);
std::string supported_architectures();

// The entry whose gguf_name is `name`; throws Error(kUnsupported) listing the GGUF architectures read.
const Architecture& find_gguf_architecture(const std::string& name);
std::string supported_gguf_architectures();

}  // namespace torchllm
