// Q6_K row groups: repacking round trip, the reference against the scalar kernel, and the AVX-512 kernel
// bit for bit against the reference for token counts around its chunks of 8 and batches of 32, 1..3 groups,
// rows of 1, 4 and 12 super-blocks (LaneSum's lanes wrap past 8), and an out_stride wider than the groups.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "model/kernels/block_dot.h"
#include "model/kernels/block_layouts.h"
#include "model/kernels/row_groups.h"
#include "model/kernels/simd_level.h"
#include "model/quant/fp16.h"
#include "q8_k_rows.h"

namespace torchllm {
namespace {

constexpr int64_t kLengths[] = {256, 1024, 3072};
constexpr int64_t kTokenCounts[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 32, 33};

int64_t row_bytes(int64_t n) { return quantized_row_bytes(GgmlType::kQ6_K, n); }

// `rows` Q6_K rows of random bytes with finite random d; some scales at their extremes -128 and 127.
std::vector<uint8_t> random_rows(int64_t n, int64_t rows, std::mt19937& rng) {
  std::vector<uint8_t> w(static_cast<size_t>(rows * row_bytes(n)));
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(-0.1f, 0.1f);
  for (uint8_t& v : w) v = static_cast<uint8_t>(byte(rng));
  auto* blocks = reinterpret_cast<BlockQ6_K*>(w.data());
  for (int64_t b = 0; b < rows * (n / kQK_K); ++b) {
    blocks[b].scales[b % 16] = -128;
    blocks[b].scales[(b + 5) % 16] = 127;
    blocks[b].d = fp32_to_fp16(scale(rng));
  }
  return w;
}

// 16 * group_count rows repacked into consecutive groups.
std::vector<uint8_t> repack(const std::vector<uint8_t>& rows, int64_t n, int64_t group_count) {
  return repack_groups(GgmlType::kQ6_K, rows, row_bytes(n), n, group_count);
}

TEST(RowGroupQ6K, GroupIsItsRowsAndThePadding) {
  EXPECT_EQ(row_group_bytes(GgmlType::kQ6_K, 3072), 16 * row_bytes(3072) + 12 * 32);
}

TEST(RowGroupQ6K, RepackZeroesThePadding) {
  std::mt19937 rng(11);
  const std::vector<uint8_t> bytes = repack(random_rows(1024, kGroupRows, rng), 1024, 1);
  for (int64_t b = 0; b < 4; ++b) {
    BlockQ6_Kx16 group;
    std::memcpy(&group, bytes.data() + b * sizeof group, sizeof group);
    for (const uint8_t v : group.pad) EXPECT_EQ(v, 0) << "super-block " << b;
  }
}

TEST(RowGroupQ6K, UnpackGivesTheRepackedRowsBack) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  for (const int64_t n : kLengths) {
    // Every byte random, d included, and the rows apart: the layout must move bytes, whatever they are.
    const int64_t stride = row_bytes(n) + 13;
    std::vector<uint8_t> rows(static_cast<size_t>(kGroupRows * stride));
    for (uint8_t& v : rows) v = static_cast<uint8_t>(byte(rng));
    std::vector<uint8_t> group(static_cast<size_t>(row_group_bytes(GgmlType::kQ6_K, n)));
    repack_x16(GgmlType::kQ6_K, rows.data(), stride, n, group.data());
    for (int64_t r = 0; r < kGroupRows; ++r) {
      std::vector<uint8_t> row(static_cast<size_t>(row_bytes(n)));
      unpack_row_x16(GgmlType::kQ6_K, group.data(), r, n, row.data());
      EXPECT_EQ(std::memcmp(row.data(), rows.data() + r * stride, row.size()), 0)
          << "n " << n << " row " << r;
    }
  }
}

TEST(RowGroupQ6K, LayoutMatchesTheHeader) {
  std::mt19937 rng(8);
  const std::vector<uint8_t> rows = random_rows(kQK_K, kGroupRows, rng);
  const std::vector<uint8_t> bytes = repack(rows, kQK_K, 1);
  BlockQ6_Kx16 group;
  std::memcpy(&group, bytes.data(), sizeof group);
  const auto* blocks = reinterpret_cast<const BlockQ6_K*>(rows.data());
  for (int r = 0; r < kGroupRows; ++r) {
    for (int h = 0; h < 2; ++h) {
      for (int l = 0; l < 32; ++l) {
        const int i = l / 4, k = l % 4;
        EXPECT_EQ(group.ql_a[h][i][4 * r + k], blocks[r].ql[64 * h + l]);
        EXPECT_EQ(group.ql_b[h][i][4 * r + k], blocks[r].ql[64 * h + 32 + l]);
        EXPECT_EQ(group.qh[h][i][4 * r + k], blocks[r].qh[32 * h + l]);
      }
    }
    for (int j = 0; j < 16; ++j) EXPECT_EQ(group.scales[j][r], blocks[r].scales[j]);
    EXPECT_EQ(group.d[r], blocks[r].d);
  }
}

TEST(RowGroupQ6K, ScalarReferenceIsTheScalarKernelOnTheOriginalRows) {
  std::mt19937 rng(9);
  const BlockDotFn dot = block_dot_function(GgmlType::kQ6_K, SimdLevel::kScalar);
  for (const int64_t n : kLengths) {
    const int64_t group_count = 2, tokens = 3;
    const std::vector<uint8_t> rows = random_rows(n, kGroupRows * group_count, rng);
    const std::vector<uint8_t> groups = repack(rows, n, group_count);
    const std::vector<uint8_t> a = q8_k_rows(n, tokens, rng);
    const int64_t a_stride = quantized_row_bytes(GgmlType::kQ8_K, n);
    const int64_t out_stride = kGroupRows * group_count + 5;
    std::vector<float> out(static_cast<size_t>(tokens * out_stride));
    row_group_dot_scalar(GgmlType::kQ6_K, groups.data(), group_count, a.data(), a_stride, tokens, n,
                         out.data(), out_stride);
    for (int64_t t = 0; t < tokens; ++t) {
      for (int64_t r = 0; r < kGroupRows * group_count; ++r) {
        const float expected = dot(rows.data() + r * row_bytes(n), a.data() + t * a_stride, n);
        ASSERT_EQ(float_bits(out[t * out_stride + r]), float_bits(expected)) << "n " << n << " token " << t;
      }
    }
  }
}

TEST(RowGroupQ6K, Avx512KernelIsBitIdenticalToTheScalarReference) {
  if (cpu_simd_level() < SimdLevel::kAvx512) GTEST_SKIP() << "no AVX-512";
  ASSERT_EQ(row_group_dot_function(GgmlType::kQ6_K, SimdLevel::kAvx512), &kernels::row_group_dot_q6_k_avx512);
  std::mt19937 rng(10);
  for (const int64_t n : kLengths) {
    for (int64_t group_count = 1; group_count <= 3; ++group_count) {
      const std::vector<uint8_t> groups =
          repack(random_rows(n, kGroupRows * group_count, rng), n, group_count);
      for (const int64_t tokens : kTokenCounts) {
        // Every other case with activations at the extremes -128 / 127, and the rows 40 bytes apart.
        const int extreme = tokens % 3 == 0 ? -128 : tokens % 3 == 1 ? 0 : 127;
        const std::vector<uint8_t> packed = q8_k_rows(n, tokens, rng, extreme);
        const int64_t row = quantized_row_bytes(GgmlType::kQ8_K, n), a_stride = row + 40;
        std::vector<uint8_t> a(static_cast<size_t>(tokens * a_stride), 0x55);
        for (int64_t t = 0; t < tokens; ++t) {
          std::memcpy(a.data() + t * a_stride, packed.data() + t * row, static_cast<size_t>(row));
        }
        const int64_t width = kGroupRows * group_count, out_stride = width + 7;
        std::vector<float> expected(static_cast<size_t>(tokens * out_stride), -7.0f);
        std::vector<float> out(expected.size(), -7.0f);
        row_group_dot_scalar(GgmlType::kQ6_K, groups.data(), group_count, a.data(), a_stride, tokens, n,
                             expected.data(), out_stride);
        kernels::row_group_dot_q6_k_avx512(groups.data(), group_count, a.data(), a_stride, tokens, n,
                                           out.data(), out_stride);
        for (int64_t t = 0; t < tokens; ++t) {
          for (int64_t c = 0; c < out_stride; ++c) {
            const size_t i = static_cast<size_t>(t * out_stride + c);
            ASSERT_EQ(float_bits(out[i]), float_bits(expected[i]))
                << "n " << n << " groups " << group_count << " tokens " << tokens << " token " << t
                << " column " << c << (c >= width ? " (past the groups)" : "");
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace torchllm
