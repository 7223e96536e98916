#pragma once

// Q8_K activation rows for the K-kernel tests, and K-quant rows repacked into row groups.

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "model/kernels/block_layouts.h"
#include "model/kernels/row_groups.h"

namespace torchllm {
namespace {

// `tokens` Q8_K rows of n elements, packed: random quants and scales (fill 0), or every quant `fill` with
// d = 1; bsums as quantize_activation leaves them.
inline std::vector<uint8_t> q8_k_rows(int64_t n, int64_t tokens, std::mt19937& rng, int fill = 0) {
  std::vector<BlockQ8_K> blocks(static_cast<size_t>(tokens * (n / kQK_K)));
  std::uniform_int_distribution<int> q(-128, 127);
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  for (BlockQ8_K& block : blocks) {
    block.d = fill ? 1.0f : scale(rng);
    for (int8_t& v : block.qs) v = static_cast<int8_t>(fill ? fill : q(rng));
    for (int j = 0; j < kQK_K / 16; ++j) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += block.qs[16 * j + i];
      block.bsums[j] = static_cast<int16_t>(sum);
    }
  }
  std::vector<uint8_t> bytes(blocks.size() * sizeof(BlockQ8_K));
  std::memcpy(bytes.data(), blocks.data(), bytes.size());
  return bytes;
}

// A float's bit pattern: the kernels must match their reference bit for bit.
inline uint32_t float_bits(float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

// 16 * group_count rows of `type`, `stride` bytes apart, repacked into consecutive row groups.
inline std::vector<uint8_t> repack_groups(GgmlType type, const std::vector<uint8_t>& rows, int64_t stride,
                                          int64_t n, int64_t group_count) {
  const int64_t group_bytes = row_group_bytes(type, n);
  std::vector<uint8_t> groups(static_cast<size_t>(group_count * group_bytes));
  for (int64_t g = 0; g < group_count; ++g) {
    repack_x16(type, rows.data() + g * kGroupRows * stride, stride, n, groups.data() + g * group_bytes);
  }
  return groups;
}

}  // namespace
}  // namespace torchllm
