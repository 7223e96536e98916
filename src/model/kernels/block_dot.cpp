#include "model/kernels/block_dot.h"

#include <string>

#include "model/kernels/block_dot_kernels.h"
#include "model/kernels/block_layouts.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

struct DotKernels {
  GgmlType weight;
  GgmlType activation;
  BlockDotFn scalar, avx2;
  BlockDotFn avx512;  // nullptr: the AVX2 kernel is the fastest at this level
};

const DotKernels kKernels[] = {
    {GgmlType::kQ8_0, GgmlType::kQ8_0, kernels::dot_q8_0_scalar, kernels::dot_q8_0_avx2,
     kernels::dot_q8_0_avx512},
    {GgmlType::kQ4_0, GgmlType::kQ8_0, kernels::dot_q4_0_scalar, kernels::dot_q4_0_avx2,
     kernels::dot_q4_0_avx512},
    {GgmlType::kQ4_1, GgmlType::kQ8_1, kernels::dot_q4_1_scalar, kernels::dot_q4_1_avx2,
     kernels::dot_q4_1_avx512},
    {GgmlType::kQ5_0, GgmlType::kQ8_0, kernels::dot_q5_0_scalar, kernels::dot_q5_0_avx2,
     kernels::dot_q5_0_avx512},
    {GgmlType::kQ5_1, GgmlType::kQ8_1, kernels::dot_q5_1_scalar, kernels::dot_q5_1_avx2,
     kernels::dot_q5_1_avx512},
    {GgmlType::kQ4_K, GgmlType::kQ8_K, kernels::dot_q4_k_scalar, kernels::dot_q4_k_avx2,
     kernels::dot_q4_k_avx512},
    {GgmlType::kQ5_K, GgmlType::kQ8_K, kernels::dot_q5_k_scalar, kernels::dot_q5_k_avx2,
     kernels::dot_q5_k_avx512},
    {GgmlType::kQ6_K, GgmlType::kQ8_K, kernels::dot_q6_k_scalar, kernels::dot_q6_k_avx2,
     kernels::dot_q6_k_avx512},
};

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

}  // namespace torchllm
