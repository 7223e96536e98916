#include "model/kernels/block_dot.h"

#include <string>

#include "model/kernels/block_dot_kernels.h"
#include "model/kernels/block_layouts.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

// Several tokens through a single-token kernel, one after another.
template <BlockDotFn kDot>
void each_token(const uint8_t* weight_row, const uint8_t* activation_rows, int64_t activation_stride,
                int64_t tokens, int64_t n, float* out) {
  for (int64_t t = 0; t < tokens; ++t) out[t] = kDot(weight_row, activation_rows + t * activation_stride, n);
}

struct DotKernels {
  GgmlType weight;
  GgmlType activation;
  BlockDotFn scalar, avx2;
  BlockDotFn avx512;  // nullptr: the AVX2 kernel is the fastest at this level
  BlockDotManyFn scalar_many, avx2_many, avx512_many;
};

#define TORCHLLM_KERNELS_WITH(type, act, name, avx2_many)                                    \
  {                                                                                          \
    GgmlType::type, GgmlType::act, kernels::dot_##name##_scalar, kernels::dot_##name##_avx2, \
        kernels::dot_##name##_avx512, each_token<kernels::dot_##name##_scalar>, avx2_many,   \
        kernels::dot_many_##name##_avx512                                                    \
  }
// The 32-element formats' AVX2 several-token kernel is the one-token kernel token by token; the K formats
// have their own, which unpacks each super-block once for up to four tokens.
#define TORCHLLM_KERNELS(type, act, name) \
  TORCHLLM_KERNELS_WITH(type, act, name, each_token<kernels::dot_##name##_avx2>)
#define TORCHLLM_K_KERNELS(type, name) \
  TORCHLLM_KERNELS_WITH(type, kQ8_K, name, kernels::dot_many_##name##_avx2)

const DotKernels kKernels[] = {
    TORCHLLM_KERNELS(kQ8_0, kQ8_0, q8_0), TORCHLLM_KERNELS(kQ4_0, kQ8_0, q4_0),
    TORCHLLM_KERNELS(kQ4_1, kQ8_1, q4_1), TORCHLLM_KERNELS(kQ5_0, kQ8_0, q5_0),
    TORCHLLM_KERNELS(kQ5_1, kQ8_1, q5_1), TORCHLLM_K_KERNELS(kQ4_K, q4_k),
    TORCHLLM_K_KERNELS(kQ5_K, q5_k),      TORCHLLM_K_KERNELS(kQ6_K, q6_k),
};

#undef TORCHLLM_K_KERNELS
#undef TORCHLLM_KERNELS
#undef TORCHLLM_KERNELS_WITH

const DotKernels* find(GgmlType weight) {
  for (const DotKernels& k : kKernels) {
    if (k.weight == weight) return &k;
  }
  return nullptr;
}

const DotKernels& require(GgmlType weight) {
  const DotKernels* k = find(weight);
  if (!k) {
    throw Error::unsupported("no block dot product for ggml type " +
                             std::to_string(static_cast<uint32_t>(weight)));
  }
  return *k;
}

}  // namespace

bool has_block_dot(GgmlType weight) { return find(weight) != nullptr; }

GgmlType activation_type(GgmlType weight) { return require(weight).activation; }

int64_t block_elements(GgmlType type) {
  if (type == GgmlType::kQ8_1) return kQK;
  if (type == GgmlType::kQ8_K) return kQK_K;
  return dequant_block_elements(static_cast<uint32_t>(type));
}

int64_t quantized_row_bytes(GgmlType type, int64_t n) {
  int64_t bytes = 0;
  if (type == GgmlType::kQ8_1) {
    bytes = sizeof(BlockQ8_1);
  } else if (type == GgmlType::kQ8_K) {
    bytes = sizeof(BlockQ8_K);
  } else {
    bytes = dequant_block_bytes(static_cast<uint32_t>(type));
  }
  return n / block_elements(type) * bytes;
}

BlockDotFn block_dot_function(GgmlType weight, SimdLevel level) {
  const DotKernels& k = require(weight);
  // Each AVX-512 kernel in the table measured faster than its AVX2 one single-threaded (VNNI's dpbusd
  // replaces maddubs + madd and each instruction covers twice the elements); an entry without one runs AVX2.
  if (level >= SimdLevel::kAvx512 && k.avx512) return k.avx512;
  return level >= SimdLevel::kAvx2 ? k.avx2 : k.scalar;
}

BlockDotManyFn block_dot_many_function(GgmlType weight, SimdLevel level) {
  const DotKernels& k = require(weight);
  if (level >= SimdLevel::kAvx512 && k.avx512_many) return k.avx512_many;
  return level >= SimdLevel::kAvx2 ? k.avx2_many : k.scalar_many;
}

BlockDotRowsFn block_dot_rows_function(GgmlType weight, SimdLevel level) {
  require(weight);
  if (level < SimdLevel::kAvx512) return nullptr;
  switch (weight) {
    case GgmlType::kQ4_K:
      return kernels::dot_rows_q4_k_avx512;
    case GgmlType::kQ5_K:
      return kernels::dot_rows_q5_k_avx512;
    case GgmlType::kQ6_K:
      return kernels::dot_rows_q6_k_avx512;
    default:
      return nullptr;
  }
}

}  // namespace torchllm
