#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "model/linear.h"
#include "torchllm/architecture.h"
#include "torchllm/checkpoint.h"
#include "torchllm/gguf_model_files.h"
#include "torchllm/model_config.h"

namespace torchllm {

// Weights as the forward pass uses them: q/k/v and gate/up merged into one matrix each at load time. The
// biases are undefined where the architecture has none.
struct LayerWeights {
  at::Tensor input_norm, input_norm_bias;  // [hidden]
  Linear qkv;                              // [(heads + 2 * kv_heads) * head_dim, hidden]
  at::Tensor qkv_bias;                     // [(heads + 2 * kv_heads) * head_dim]
  at::Tensor q_norm, k_norm;               // [head_dim]
  Linear o;                                // [hidden, heads * head_dim]
  at::Tensor o_bias;                       // [hidden]
  at::Tensor post_norm, post_norm_bias;    // [hidden]
  Linear gate_up;                          // [2 * intermediate, hidden]; GPT-2: [intermediate, hidden] (up)
  at::Tensor gate_up_bias;                 // GPT-2: [intermediate]
  Linear down;                             // [hidden, intermediate]
  at::Tensor down_bias;                    // GPT-2: [hidden]

  // Every dense tensor, for counting (a quantized Linear's weight is undefined).
  std::vector<const at::Tensor*> all() const {
    return {&input_norm,     &input_norm_bias, &qkv.weight,  &qkv_bias,  &q_norm,
            &k_norm,         &o.weight,        &o_bias,      &post_norm, &post_norm_bias,
            &gate_up.weight, &gate_up_bias,    &down.weight, &down_bias};
  }
};

struct ModelWeightSet {
  at::Tensor embed;  // [vocab, hidden], undefined when embed_blocks holds it
  std::shared_ptr<const QuantizedMatrix> embed_blocks;
  at::Tensor position_embed;  // GPT-2: [max_position_embeddings, hidden]
  std::vector<LayerWeights> layers;
  at::Tensor final_norm, final_norm_bias;  // [hidden]
  Linear lm_head;                          // [vocab, hidden], the embedding itself when tied
};

bool has_qkv_bias(const ModelConfig& config, const Architecture& arch);

// Validates the checkpoint's tensor names against the configuration (missing and unexpected tensors are
// errors) and copies every tensor into freshly allocated weights.
ModelWeightSet load_weight_set(const Checkpoint& checkpoint, const ModelConfig& config,
                               const Architecture& arch, const at::TensorOptions& options,
                               const std::function<void(uint64_t done, uint64_t total)>& progress = {});

// Allocates weights shaped for `config` and fills each through `fill(Hugging Face tensor name, destination)`.
ModelWeightSet build_weight_set(const ModelConfig& config, const Architecture& arch,
                                const at::TensorOptions& options,
                                const std::function<void(const std::string&, at::Tensor)>& fill);

// The same from a GGUF model: every tensor dequantized to `options`' dtype, llama's q/k rows put back in
// Hugging Face order; a missing, misshapen or unexpected tensor is Error(kCorruptInput). With `keep_blocks`,
// projections (and the embedding) whose tensors are all in a format with block dot products stay in the
// file's mapping as QuantizedMatrix instead.
ModelWeightSet load_gguf_weight_set(const std::shared_ptr<const GgufModelFiles>& files,
                                    const ModelConfig& config, const Architecture& arch,
                                    const at::TensorOptions& options, bool keep_blocks,
                                    const std::function<void(uint64_t done, uint64_t total)>& progress = {});

// llama.cpp's converter stores each q/k head's rows (weight or bias) as [head_dim / 2, 2], pairs for its
// rotary layout, where Hugging Face has [2, head_dim / 2]. For such a tensor of `rows` rows, the Hugging Face
// row of each stored row; empty for every other tensor, and for architectures that keep Hugging Face's order.
std::vector<int64_t> gguf_qk_hf_rows(const std::string& hf_name, const Architecture& arch, int64_t rows,
                                     int64_t head_dim);

ModelWeightSet random_weight_set(const ModelConfig& config, const Architecture& arch,
                                 const at::TensorOptions& options, uint64_t seed);

}  // namespace torchllm
