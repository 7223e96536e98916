#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <memory>

#include "model/quantized_matrix.h"

namespace torchllm {

// A projection as the forward pass sees it, y = x W^T + b, whether W is a dense tensor or ggml blocks.
struct Linear {
  at::Tensor weight;                              // [out, in] when dense
  std::shared_ptr<const QuantizedMatrix> blocks;  // when quantized (weight is then undefined)

  // x [tokens, in] -> [tokens, out] in x's dtype; `bias` [out] or undefined.
  at::Tensor apply(const at::Tensor& x, const at::Tensor& bias = at::Tensor()) const;

  bool defined() const { return weight.defined() || blocks != nullptr; }
  int64_t parameter_count() const;
  uint64_t bytes() const;  // as stored
};

}  // namespace torchllm
