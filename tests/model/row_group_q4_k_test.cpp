// Q4_K row groups: repacking round trip, and the AVX-512 kernel bit for bit against the scalar reference,
// which is itself checked against dot_q4_k_scalar of the original rows.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "model/kernels/block_dot.h"
#include "model/kernels/block_layouts.h"
#include "model/kernels/row_groups.h"
#include "model/quant/fp16.h"
#include "q8_k_rows.h"

namespace torchllm {
namespace {

constexpr int64_t kLengths[] = {256, 1024, 3072};  // 1, 4 and 12 super-blocks
constexpr int64_t kTokenCounts[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 32};

// A random finite fp16: any sign and exponent but all-ones (subnormals and large values included).
uint16_t random_finite_half(std::mt19937& rng) {
  uint16_t h = static_cast<uint16_t>(std::uniform_int_distribution<int>(0, 0xFFFF)(rng));
  if ((h & 0x7C00) == 0x7C00) h = static_cast<uint16_t>(h & ~0x4000);
  return h;
}

// `rows` Q4_K rows of n elements `stride` bytes apart (the gap garbage): random bytes with finite fp16 d and
// dmin, or (extreme) every byte 0xFF with d = dmin = 1.
std::vector<uint8_t> q4_k_rows(int64_t n, int64_t rows, int64_t stride, bool extreme, std::mt19937& rng) {
  std::vector<uint8_t> w(static_cast<size_t>(rows * stride));
  std::uniform_int_distribution<int> byte(0, 255);
  for (uint8_t& v : w) v = static_cast<uint8_t>(byte(rng));
  for (int64_t r = 0; r < rows; ++r) {
    auto* blocks = reinterpret_cast<BlockQ4_K*>(w.data() + r * stride);
    if (extreme) std::memset(blocks, 0xFF, static_cast<size_t>(quantized_row_bytes(GgmlType::kQ4_K, n)));
    for (int64_t b = 0; b < n / kQK_K; ++b) {
      const uint16_t d = extreme ? fp32_to_fp16(1.0f) : random_finite_half(rng);
      const uint16_t dmin = extreme ? fp32_to_fp16(1.0f) : random_finite_half(rng);
      std::memcpy(&blocks[b].d, &d, sizeof d);
      std::memcpy(&blocks[b].dmin, &dmin, sizeof dmin);
    }
  }
  return w;
}

// 16 * group_count rows `stride` bytes apart, as consecutive row groups.
std::vector<uint8_t> repack(const std::vector<uint8_t>& rows, int64_t stride, int64_t group_count,
                            int64_t n) {
  return repack_groups(GgmlType::kQ4_K, rows, stride, n, group_count);
}

TEST(RowGroupQ4K, GroupBytesAreTheUnpackedScalesMore) {
  EXPECT_EQ(row_group_bytes(GgmlType::kQ4_K, 3072), 12 * 2368);
  EXPECT_EQ(row_group_dot_function(GgmlType::kQ4_K, SimdLevel::kAvx512), &kernels::row_group_dot_q4_k_avx512);
  EXPECT_EQ(row_group_dot_function(GgmlType::kQ4_K, SimdLevel::kAvx2), nullptr);
}

// Every bit of every row comes back, whatever the bytes (d and dmin included, NaN patterns too).
TEST(RowGroupQ4K, RepackThenUnpackGivesBackEveryByte) {
  std::mt19937 rng(51);
  std::uniform_int_distribution<int> byte(0, 255);
  for (const int64_t n : kLengths) {
    const int64_t row_bytes = quantized_row_bytes(GgmlType::kQ4_K, n);
    for (const int64_t stride : {row_bytes, row_bytes + 40}) {
      std::vector<uint8_t> rows(static_cast<size_t>(kGroupRows * stride));
      for (uint8_t& v : rows) v = static_cast<uint8_t>(byte(rng));
      const std::vector<uint8_t> group = repack(rows, stride, 1, n);
      std::vector<uint8_t> row(static_cast<size_t>(row_bytes));
      for (int64_t r = 0; r < kGroupRows; ++r) {
        unpack_row_x16(GgmlType::kQ4_K, group.data(), r, n, row.data());
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

// Trial 0: extreme rows, activations all -128; 1: extreme rows, +127; 2: random; 3: random, activations
// apart.
Case make_case(int64_t n, int64_t group_count, int64_t tokens, int trial, std::mt19937& rng) {
  const int64_t row_bytes = quantized_row_bytes(GgmlType::kQ4_K, n);
  const int64_t a_bytes = quantized_row_bytes(GgmlType::kQ8_K, n);
  Case c{n,  group_count, tokens, trial == 3 ? 4 * a_bytes : a_bytes, kGroupRows * group_count + 7,
         {}, {},          {}};
  c.rows = q4_k_rows(n, kGroupRows * group_count, row_bytes, trial < 2, rng);
  c.groups = repack(c.rows, row_bytes, group_count, n);
  const int fill = trial == 0 ? -128 : trial == 1 ? 127 : 0;
  // Trial 3's tokens are every fourth row of a packed set.
  const std::vector<uint8_t> packed = q8_k_rows(n, trial == 3 ? 4 * tokens : tokens, rng, fill);
  c.activations.assign(packed.begin(), packed.begin() + (tokens - 1) * c.activation_stride + a_bytes);
  return c;
}

void expect_matches_reference(RowGroupDotFn dot, const Case& c) {
  expect_row_group_kernel_matches_reference(GgmlType::kQ4_K, dot, c.groups.data(), c.group_count,
                                            c.activations.data(), c.activation_stride, c.tokens, c.n,
                                            c.out_stride);
}

TEST(RowGroupQ4K, Avx512IsBitIdenticalToTheScalarReference) {
  if (cpu_simd_level() < SimdLevel::kAvx512) GTEST_SKIP() << "no AVX-512 VNNI";
  std::mt19937 rng(52);
  int trial = 0;
  for (const int64_t n : kLengths) {
    for (int64_t group_count = 1; group_count <= 3; ++group_count) {
      for (const int64_t tokens : kTokenCounts) {
        expect_matches_reference(kernels::row_group_dot_q4_k_avx512,
                                 make_case(n, group_count, tokens, trial++ % 4, rng));
      }
    }
  }
}

TEST(RowGroupQ4K, Avx512EveryTrialAtManyTokens) {
  if (cpu_simd_level() < SimdLevel::kAvx512) GTEST_SKIP() << "no AVX-512 VNNI";
  std::mt19937 rng(53);
  for (const int64_t tokens : {1, 6, 32, 33, 41}) {
    for (int trial = 0; trial < 4; ++trial) {
      expect_matches_reference(kernels::row_group_dot_q4_k_avx512, make_case(3072, 2, tokens, trial, rng));
    }
  }
}

// The reference unpacks each row: it must be dot_q4_k_scalar of the original rows.
TEST(RowGroupQ4K, ScalarReferenceMatchesTheScalarKernelOnTheOriginalRows) {
  std::mt19937 rng(54);
  const BlockDotFn scalar = block_dot_function(GgmlType::kQ4_K, SimdLevel::kScalar);
  for (const int64_t n : kLengths) {
    for (int trial = 0; trial < 4; ++trial) {
      const Case c = make_case(n, 2, 3, trial, rng);
      std::vector<float> out(static_cast<size_t>(c.tokens * c.out_stride));
      row_group_dot_scalar(GgmlType::kQ4_K, c.groups.data(), c.group_count, c.activations.data(),
                           c.activation_stride, c.tokens, n, out.data(), c.out_stride);
      const int64_t row_bytes = quantized_row_bytes(GgmlType::kQ4_K, n);
      for (int64_t t = 0; t < c.tokens; ++t) {
        for (int64_t r = 0; r < kGroupRows * c.group_count; ++r) {
          const float expected =
              scalar(c.rows.data() + r * row_bytes, c.activations.data() + t * c.activation_stride, n);
          ASSERT_EQ(float_bits(out[t * c.out_stride + r]), float_bits(expected))
              << "n " << n << " token " << t << " row " << r;
        }
      }
    }
  }
}

}  // namespace
}  // namespace torchllm
