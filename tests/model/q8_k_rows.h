#pragma once

// Q8_K activation rows for the K-kernel tests, rows repacked into row groups, and a row-group kernel checked
// against the scalar reference.

#include <gtest/gtest.h>

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

// `dot` against row_group_dot_scalar on the same groups and activations, bit for bit; the gaps of out_stride
// are left alone by both.
inline void expect_row_group_kernel_matches_reference(GgmlType type, RowGroupDotFn dot, const uint8_t* groups,
                                                      int64_t group_count, const uint8_t* activations,
                                                      int64_t activation_stride, int64_t tokens, int64_t n,
                                                      int64_t out_stride) {
  const size_t size = static_cast<size_t>(tokens * out_stride);
  std::vector<float> expected(size, -7.0f), out(size, -7.0f);
  row_group_dot_scalar(type, groups, group_count, activations, activation_stride, tokens, n, expected.data(),
                       out_stride);
  dot(groups, group_count, activations, activation_stride, tokens, n, out.data(), out_stride);
  for (size_t i = 0; i < size; ++i) {
    ASSERT_EQ(float_bits(out[i]), float_bits(expected[i]))
        << "n " << n << " groups " << group_count << " tokens " << tokens << " token " << i / out_stride
        << " row " << i % out_stride;
  }
}

}  // namespace
}  // namespace torchllm
