#include "model/linear.h"

#include <ATen/ATen.h>

#include "model/kernels/bf16_gemv.h"

namespace torchllm {

at::Tensor Linear::apply(const at::Tensor& x, const at::Tensor& bias) const {
  if (blocks) {
    at::Tensor y = blocks->multiply(x);  // [tokens, out]
    return bias.defined() ? y + bias : y;
  }
  // A few bf16 rows on a CPU: our GEMV streams the weight at the memory bound; libtorch 1.13's GEMM reaches
  // about half of it there.
  if (bf16_gemv_applies(x, weight) && (!bias.defined() || bias.scalar_type() == at::kBFloat16)) {
    return bf16_gemv(x, weight, bias);
  }
  // One float32 row on a CPU goes through matrix-vector: libtorch 1.13's linear (a GEMM) streams a float32
  // weight at 14-28 GB/s there where mv reaches 42-146 (a 2-core machine); for bf16 the GEMM is the faster.
  if (x.size(0) == 1 && x.is_cpu() && x.scalar_type() == at::kFloat) {
    return (bias.defined() ? at::addmv(bias, weight, x[0]) : at::mv(weight, x[0])).unsqueeze(0);
  }
  return at::linear(x, weight, bias);
}

int64_t Linear::parameter_count() const {
  if (blocks) return blocks->rows() * blocks->columns();
  return weight.defined() ? weight.numel() : 0;
}

uint64_t Linear::bytes() const {
  if (blocks) return blocks->bytes();
  return weight.defined() ? static_cast<uint64_t>(weight.numel() * weight.element_size()) : 0;
}

}  // namespace torchllm
