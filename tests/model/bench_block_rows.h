#pragma once

// Random weight and activation rows of the block formats for the kernel microbenchmarks (not tests).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "model/kernels/block_dot.h"
#include "model/quant/fp16.h"

namespace torchllm::bench {

struct BlockType {
  const char* name;
  GgmlType type;
  std::vector<size_t> fp16_offsets;  // a block's fp16 scales, set to sane values
};

// `rows` rows of n elements: random bytes with sane fp16 scales.
inline std::vector<uint8_t> random_weight_rows(const BlockType& type, int64_t rows, int64_t n,
                                               std::mt19937& rng) {
  const int64_t row_bytes = quantized_row_bytes(type.type, n);
  std::vector<uint8_t> w(static_cast<size_t>(rows * row_bytes));
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(-0.1f, 0.1f);
  for (uint8_t& v : w) v = static_cast<uint8_t>(byte(rng));
  const size_t block_bytes = static_cast<size_t>(row_bytes / (n / block_elements(type.type)));
  for (size_t b = 0; b < w.size(); b += block_bytes) {
    for (const size_t off : type.fp16_offsets) {
      const uint16_t h = fp32_to_fp16(scale(rng));
      std::memcpy(&w[b + off], &h, sizeof h);
    }
  }
  return w;
}

// `tokens` rows of normal floats quantized to the activation `format`, packed.
inline std::vector<uint8_t> random_activation_rows(GgmlType format, int64_t tokens, int64_t n,
                                                   std::mt19937& rng) {
  const int64_t stride = quantized_row_bytes(format, n);
  std::vector<uint8_t> a(static_cast<size_t>(tokens * stride));
  std::normal_distribution<float> x(0.0f, 1.0f);
  std::vector<float> row(static_cast<size_t>(n));
  for (int64_t t = 0; t < tokens; ++t) {
    for (float& v : row) v = x(rng);
    quantize_activation(format, row.data(), a.data() + t * stride, n);
  }
  return a;
}

}  // namespace torchllm::bench
