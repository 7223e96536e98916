#pragma once

// Q8_K activation rows for the K-kernel tests, rows repacked into row groups, and a row-group kernel checked
// against the scalar reference (RowGroupCase).

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "model/kernels/block_dot.h"
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

// A random finite fp16: any sign and exponent but all-ones (subnormals and large values included).
inline uint16_t random_finite_half(std::mt19937& rng) {
  uint16_t h = static_cast<uint16_t>(std::uniform_int_distribution<int>(0, 0xFFFF)(rng));
  if ((h & 0x7C00) == 0x7C00) h = static_cast<uint16_t>(h & ~0x4000);
  return h;
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

// A row-group kernel's test case: 16 * group_count rows of n columns of `type`, the same rows repacked into
// groups, and `tokens` activation rows `activation_stride` bytes apart; outputs `out_stride` apart.
struct RowGroupCase {
  GgmlType type;
  int64_t n, group_count, tokens, activation_stride, out_stride;
  std::vector<uint8_t> rows, groups, activations;
};

// The case's AVX-512 kernel against row_group_dot_scalar on the same groups and activations, bit for bit;
// the gaps of out_stride are left alone by both.
inline void expect_avx512_kernel_matches_reference(const RowGroupCase& c) {
  const RowGroupDotFn dot = row_group_dot_function(c.type, SimdLevel::kAvx512);
  const size_t size = static_cast<size_t>(c.tokens * c.out_stride);
  std::vector<float> expected(size, -7.0f), out(size, -7.0f);
  row_group_dot_scalar(c.type, c.groups.data(), c.group_count, c.activations.data(), c.activation_stride,
                       c.tokens, c.n, expected.data(), c.out_stride);
  dot(c.groups.data(), c.group_count, c.activations.data(), c.activation_stride, c.tokens, c.n, out.data(),
      c.out_stride);
  for (size_t i = 0; i < size; ++i) {
    ASSERT_EQ(float_bits(out[i]), float_bits(expected[i]))
        << "n " << c.n << " groups " << c.group_count << " tokens " << c.tokens << " token "
        << i / c.out_stride << " row " << i % c.out_stride;
  }
}

// Random bytes (NaN patterns included) in 16 rows of n columns of `type`, `row_bytes` and `row_bytes` + 40
// apart, repacked into a group: unpack_row_x16 gives every byte of every row back.
inline void expect_repack_round_trip(GgmlType type, int64_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  const int64_t row_bytes = quantized_row_bytes(type, n);
  for (const int64_t stride : {row_bytes, row_bytes + 40}) {
    std::vector<uint8_t> rows(static_cast<size_t>(kGroupRows * stride));
    for (uint8_t& v : rows) v = static_cast<uint8_t>(byte(rng));
    const std::vector<uint8_t> group = repack_groups(type, rows, stride, n, 1);
    std::vector<uint8_t> row(static_cast<size_t>(row_bytes));
    for (int64_t r = 0; r < kGroupRows; ++r) {
      unpack_row_x16(type, group.data(), r, n, row.data());
      ASSERT_EQ(std::memcmp(row.data(), rows.data() + r * stride, row.size()), 0)
          << "n " << n << " row " << r;
    }
  }
}

// row_group_dot_scalar on the case's groups equals the scalar kernel of its type on the original rows, bit
// for bit.
inline void expect_reference_is_scalar_kernel(const RowGroupCase& c) {
  const BlockDotFn scalar = block_dot_function(c.type, SimdLevel::kScalar);
  std::vector<float> out(static_cast<size_t>(c.tokens * c.out_stride));
  row_group_dot_scalar(c.type, c.groups.data(), c.group_count, c.activations.data(), c.activation_stride,
                       c.tokens, c.n, out.data(), c.out_stride);
  const int64_t row_bytes = quantized_row_bytes(c.type, c.n);
  for (int64_t t = 0; t < c.tokens; ++t) {
    for (int64_t r = 0; r < kGroupRows * c.group_count; ++r) {
      const float expected =
          scalar(c.rows.data() + r * row_bytes, c.activations.data() + t * c.activation_stride, c.n);
      ASSERT_EQ(float_bits(out[t * c.out_stride + r]), float_bits(expected))
          << "n " << c.n << " token " << t << " row " << r;
    }
  }
}

}  // namespace
}  // namespace torchllm
