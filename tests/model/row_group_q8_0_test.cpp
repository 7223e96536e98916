// Q8_0 row groups: repacking round trip, and the AVX-512 kernel bit for bit against the scalar reference,
// which is itself checked against dot_q8_0_scalar of the original rows.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "model/kernels/block_dot.h"
#include "model/kernels/block_layouts.h"
#include "model/kernels/row_groups.h"
#include "model/quant/fp16.h"
#include "q8_k_rows.h"

namespace torchllm {
namespace {

constexpr int64_t kLengths[] = {64, 1024, 3072, 4160};  // 1, 16, 48 and 65 pairs of blocks
constexpr int64_t kTokenCounts[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 32, 33, 41};

uint16_t random_finite_half(std::mt19937& rng) {
  uint16_t h = static_cast<uint16_t>(std::uniform_int_distribution<int>(0, 0xFFFF)(rng));
  if ((h & 0x7C00) == 0x7C00) h = static_cast<uint16_t>(h & ~0x4000);
  return h;
}

// `rows` Q8_0 rows of n elements `stride` bytes apart (the gap garbage): random quants with finite fp16 d,
// or every quant `fill` with d = 1.
std::vector<uint8_t> q8_0_rows(int64_t n, int64_t rows, int64_t stride, int fill, std::mt19937& rng) {
  std::vector<uint8_t> w(static_cast<size_t>(rows * stride));
  std::uniform_int_distribution<int> byte(0, 255);
  for (uint8_t& v : w) v = static_cast<uint8_t>(byte(rng));
  for (int64_t r = 0; r < rows; ++r) {
    auto* blocks = reinterpret_cast<BlockQ8_0*>(w.data() + r * stride);
    for (int64_t b = 0; b < n / kQK; ++b) {
      const uint16_t d = fill ? fp32_to_fp16(1.0f) : random_finite_half(rng);
      std::memcpy(&blocks[b].d, &d, sizeof d);
      if (fill) std::memset(blocks[b].qs, fill & 0xFF, sizeof blocks[b].qs);
    }
  }
  return w;
}

TEST(RowGroupQ8_0, LayoutAndAvailability) {
  EXPECT_EQ(row_group_bytes(GgmlType::kQ8_0, 3072), 48 * 1088);
  EXPECT_EQ(row_group_dot_function(GgmlType::kQ8_0, SimdLevel::kAvx512), &kernels::row_group_dot_q8_0_avx512);
  EXPECT_EQ(row_group_dot_function(GgmlType::kQ8_0, SimdLevel::kAvx2), nullptr);
  EXPECT_TRUE(has_row_groups(GgmlType::kQ8_0, SimdLevel::kAvx512, 64));
  EXPECT_FALSE(has_row_groups(GgmlType::kQ8_0, SimdLevel::kAvx512, 96));  // not whole pairs of blocks
  EXPECT_FALSE(has_row_groups(GgmlType::kQ8_0, SimdLevel::kAvx2, 64));
}

// Every bit of every row comes back, whatever the bytes (d's NaN patterns too).
TEST(RowGroupQ8_0, RepackThenUnpackGivesBackEveryByte) {
  std::mt19937 rng(61);
  std::uniform_int_distribution<int> byte(0, 255);
  for (const int64_t n : kLengths) {
    const int64_t row_bytes = quantized_row_bytes(GgmlType::kQ8_0, n);
    for (const int64_t stride : {row_bytes, row_bytes + 40}) {
      std::vector<uint8_t> rows(static_cast<size_t>(kGroupRows * stride));
      for (uint8_t& v : rows) v = static_cast<uint8_t>(byte(rng));
      const std::vector<uint8_t> group = repack_groups(GgmlType::kQ8_0, rows, stride, n, 1);
      std::vector<uint8_t> row(static_cast<size_t>(row_bytes));
      for (int64_t r = 0; r < kGroupRows; ++r) {
        unpack_row_x16(GgmlType::kQ8_0, group.data(), r, n, row.data());
        ASSERT_EQ(std::memcmp(row.data(), rows.data() + r * stride, row.size()), 0)
            << "n " << n << " row " << r;
      }
    }
  }
}

struct Case {
  int64_t n, group_count, tokens, activation_stride, out_stride;
  std::vector<uint8_t> rows, groups, activations;
};

// Trial 0: every weight and activation -128 (the largest |isum| and offset); 1: weights 127, activations
// -128; 2: random; 3: random, activations apart.
Case make_case(int64_t n, int64_t group_count, int64_t tokens, int trial, std::mt19937& rng) {
  const int64_t row_bytes = quantized_row_bytes(GgmlType::kQ8_0, n);
  const int64_t a_bytes = quantized_row_bytes(GgmlType::kQ8_0, n);
  Case c{n,  group_count, tokens, trial == 3 ? a_bytes + 40 : a_bytes, kGroupRows * group_count + 7,
         {}, {},          {}};
  const int weight_fill = trial == 0 ? -128 : trial == 1 ? 127 : 0;
  c.rows = q8_0_rows(n, kGroupRows * group_count, row_bytes, weight_fill, rng);
  c.groups = repack_groups(GgmlType::kQ8_0, c.rows, row_bytes, n, group_count);
  c.activations = q8_0_rows(n, tokens, c.activation_stride, trial < 2 ? -128 : 0, rng);
  return c;
}

void expect_matches_reference(const Case& c) {
  const size_t size = static_cast<size_t>(c.tokens * c.out_stride);
  std::vector<float> expected(size, -7.0f), out(size, -7.0f);
  row_group_dot_scalar(GgmlType::kQ8_0, c.groups.data(), c.group_count, c.activations.data(),
                       c.activation_stride, c.tokens, c.n, expected.data(), c.out_stride);
  kernels::row_group_dot_q8_0_avx512(c.groups.data(), c.group_count, c.activations.data(),
                                     c.activation_stride, c.tokens, c.n, out.data(), c.out_stride);
  for (size_t i = 0; i < size; ++i) {
    ASSERT_EQ(float_bits(out[i]), float_bits(expected[i]))
        << "n " << c.n << " groups " << c.group_count << " tokens " << c.tokens << " token "
        << i / c.out_stride << " row " << i % c.out_stride;
  }
}

TEST(RowGroupQ8_0, Avx512IsBitIdenticalToTheScalarReference) {
  if (cpu_simd_level() < SimdLevel::kAvx512) GTEST_SKIP() << "no AVX-512 VNNI";
  std::mt19937 rng(62);
  int trial = 0;
  for (const int64_t n : kLengths) {
    for (int64_t group_count = 1; group_count <= 3; ++group_count) {
      for (const int64_t tokens : kTokenCounts)
        expect_matches_reference(make_case(n, group_count, tokens, trial++ % 4, rng));
    }
  }
  for (int t = 0; t < 4; ++t) expect_matches_reference(make_case(1024, 2, 16, t, rng));
}

// The reference unpacks each row: it must be dot_q8_0_scalar of the original rows.
TEST(RowGroupQ8_0, ScalarReferenceMatchesTheScalarKernelOnTheOriginalRows) {
  std::mt19937 rng(63);
  const BlockDotFn scalar = block_dot_function(GgmlType::kQ8_0, SimdLevel::kScalar);
  for (const int64_t n : kLengths) {
    for (int trial = 0; trial < 4; ++trial) {
      const Case c = make_case(n, 2, 3, trial, rng);
      std::vector<float> out(static_cast<size_t>(c.tokens * c.out_stride));
      row_group_dot_scalar(GgmlType::kQ8_0, c.groups.data(), c.group_count, c.activations.data(),
                           c.activation_stride, c.tokens, n, out.data(), c.out_stride);
      const int64_t row_bytes = quantized_row_bytes(GgmlType::kQ8_0, n);
      for (int64_t t = 0; t < c.tokens; ++t) {
        for (int64_t r = 0; r < kGroupRows * c.group_count; ++r) {
          const float expected =
              scalar(c.rows.data() + r * row_bytes, c.activations.data() + t * c.activation_stride, n);
          ASSERT_EQ(float_bits(out[t * c.out_stride + r]), float_bits(expected))
              << "token " << t << " row " << r;
        }
      }
    }
  }
}

}  // namespace
}  // namespace torchllm
