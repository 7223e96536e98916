#pragma once

#include <ATen/Tensor.h>

#include <utility>

#include "torchllm/model_config.h"

namespace torchllm {

// cos and sin tables [positions, head_dim] computed in float32 as transformers does (inverse frequencies with
// the config's scaling, then outer product with the positions), converted to `options`' dtype and device.
std::pair<at::Tensor, at::Tensor> rope_tables(const ModelConfig& config, int64_t positions,
                                              const at::TensorOptions& options);

// x [tokens, heads, head_dim]; cos/sin [tokens, 1, head_dim]. The "rotate half" convention of HF checkpoints.
at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace torchllm
