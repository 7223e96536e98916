// The activation side of the block dot products: llama.cpp's reference quantizers quantize_row_q8_0_ref,
// quantize_row_q8_1_ref and quantize_row_q8_K_ref (ggml-quants.c), with the same float operations.

#include <cmath>
#include <cstring>
#include <string>

#include "model/kernels/block_dot.h"
#include "model/kernels/block_layouts.h"
#include "model/quant/fp16.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

float abs_max(const float* x, int count) {
  float amax = 0.0f;
  for (int j = 0; j < count; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  return amax;
}

void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t blocks) {
  for (int64_t i = 0; i < blocks; ++i, x += kQK) {
    const float d = abs_max(x, kQK) / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    for (int j = 0; j < kQK; ++j) y[i].qs[j] = static_cast<int8_t>(std::roundf(x[j] * id));
  }
}

void quantize_q8_1(const float* x, BlockQ8_1* y, int64_t blocks) {
  for (int64_t i = 0; i < blocks; ++i, x += kQK) {
    const float d = abs_max(x, kQK) / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    int sum = 0;
    for (int j = 0; j < kQK; ++j) {
      y[i].qs[j] = static_cast<int8_t>(std::roundf(x[j] * id));
      sum += y[i].qs[j];
    }
    y[i].s = fp32_to_fp16(static_cast<float>(sum) * d);
  }
}

// ggml's nearest_int: round half to even through the float adder (|v| < 2^22).
int nearest_int(float v) {
  const float shifted = v + 12582912.f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

void quantize_q8_k(const float* x, BlockQ8_K* y, int64_t blocks) {
  for (int64_t i = 0; i < blocks; ++i, x += kQK_K) {
    float max = 0, amax = 0;  // the element of largest magnitude, with its sign
    for (int j = 0; j < kQK_K; ++j) {
      const float ax = std::fabs(x[j]);
      if (ax > amax) {
        amax = ax;
        max = x[j];
      }
    }
    if (amax == 0.0f) {
      std::memset(&y[i], 0, sizeof y[i]);
      continue;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < kQK_K; ++j) {
      const int v = nearest_int(iscale * x[j]);
      y[i].qs[j] = static_cast<int8_t>(v < 127 ? v : 127);
    }
    for (int j = 0; j < kQK_K / 16; ++j) {
      int sum = 0;
      for (int k = 0; k < 16; ++k) sum += y[i].qs[j * 16 + k];
      y[i].bsums[j] = static_cast<int16_t>(sum);
    }
    y[i].d = 1 / iscale;
  }
}

}  // namespace

void quantize_activation(GgmlType activation, const float* x, uint8_t* dst, int64_t n) {
  const int64_t block = block_elements(activation);
  if (n < 0 || n % block != 0) {
    throw Error::invalid_argument("cannot quantize an activation row of " + std::to_string(n) +
                                  " elements into " + std::to_string(block) + "-element blocks");
  }
  switch (activation) {
    case GgmlType::kQ8_0:
      return quantize_q8_0(x, reinterpret_cast<BlockQ8_0*>(dst), n / block);
    case GgmlType::kQ8_1:
      return quantize_q8_1(x, reinterpret_cast<BlockQ8_1*>(dst), n / block);
    case GgmlType::kQ8_K:
      return quantize_q8_k(x, reinterpret_cast<BlockQ8_K*>(dst), n / block);
    default:
      throw Error::invalid_argument("ggml type " + std::to_string(static_cast<uint32_t>(activation)) +
                                    " is not an activation format (Q8_0, Q8_1, Q8_K)");
  }
}

}  // namespace torchllm
