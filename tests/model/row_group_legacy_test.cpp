// Q8_0 and Q4_0 row groups: repacking round trip, and the AVX-512 kernels bit for bit against the scalar
// reference, which is itself checked against the scalar kernel of the original rows.
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

constexpr int64_t kLengths[] = {64, 1024, 3072, 4160};  // 1, 16, 48 and 65 pairs of blocks
constexpr int64_t kTokenCounts[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 32, 33, 41};

// `rows` rows of n elements of `type` (Q8_0 or Q4_0: d then the quants) `stride` bytes apart (the gap
// garbage): random quants with finite fp16 d, or every quant byte `fill` with d = 1.
std::vector<uint8_t> block_rows(GgmlType type, int64_t n, int64_t rows, int64_t stride, int fill,
                                std::mt19937& rng) {
  const auto block_bytes =
      static_cast<int64_t>(type == GgmlType::kQ8_0 ? sizeof(BlockQ8_0) : sizeof(BlockQ4_0));
  std::vector<uint8_t> w(static_cast<size_t>(rows * stride));
  std::uniform_int_distribution<int> byte(0, 255);
  for (uint8_t& v : w) v = static_cast<uint8_t>(byte(rng));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t b = 0; b < n / kQK; ++b) {
      uint8_t* block = w.data() + r * stride + b * block_bytes;
      const uint16_t d = fill ? fp32_to_fp16(1.0f) : random_finite_half(rng);
      std::memcpy(block, &d, sizeof d);
      if (fill) std::memset(block + sizeof d, fill & 0xFF, static_cast<size_t>(block_bytes) - sizeof d);
    }
  }
  return w;
}

class RowGroupLegacy : public ::testing::TestWithParam<GgmlType> {};

TEST(RowGroupLegacyLayout, SizesAndAvailability) {
  EXPECT_EQ(row_group_bytes(GgmlType::kQ8_0, 3072), 48 * 1088);
  EXPECT_EQ(row_group_bytes(GgmlType::kQ4_0, 3072), 48 * 576);
  EXPECT_EQ(row_group_dot_function(GgmlType::kQ8_0, SimdLevel::kAvx512), &kernels::row_group_dot_q8_0_avx512);
  EXPECT_EQ(row_group_dot_function(GgmlType::kQ4_0, SimdLevel::kAvx512), &kernels::row_group_dot_q4_0_avx512);
  EXPECT_EQ(row_group_dot_function(GgmlType::kQ8_0, SimdLevel::kAvx2), nullptr);
  EXPECT_EQ(row_group_dot_function(GgmlType::kQ4_1, SimdLevel::kAvx512), nullptr);
  for (const GgmlType type : {GgmlType::kQ8_0, GgmlType::kQ4_0}) {
    EXPECT_TRUE(has_row_groups(type, SimdLevel::kAvx512, 64));
    EXPECT_FALSE(has_row_groups(type, SimdLevel::kAvx512, 96));  // not whole pairs of blocks
    EXPECT_FALSE(has_row_groups(type, SimdLevel::kAvx2, 64));
  }
}

// Every bit of every row comes back, whatever the bytes (d's NaN patterns too).
TEST_P(RowGroupLegacy, RepackThenUnpackGivesBackEveryByte) {
  std::mt19937 rng(61);
  for (const int64_t n : kLengths) expect_repack_round_trip(GetParam(), n, rng);
}

// Activations -128 and weights at one end (trial 0: Q8_0 -128, Q4_0 nibbles 0, i.e. -8: the largest |isum|
// and offset) or the other (1: 127, nibbles 15); 2: random; 3: random, activations apart.
RowGroupCase make_case(GgmlType type, int64_t n, int64_t group_count, int64_t tokens, int trial,
                       std::mt19937& rng) {
  const int64_t row_bytes = quantized_row_bytes(type, n);
  const int64_t a_bytes = quantized_row_bytes(GgmlType::kQ8_0, n);
  RowGroupCase c{
      type, n,  group_count, tokens, trial == 3 ? a_bytes + 40 : a_bytes, kGroupRows * group_count + 7,
      {},   {}, {}};
  const bool q8 = type == GgmlType::kQ8_0;
  const int weight_fill = trial == 0 ? (q8 ? -128 : 0x100) : trial == 1 ? (q8 ? 127 : 0xFF) : 0;
  c.rows = block_rows(type, n, kGroupRows * group_count, row_bytes, weight_fill, rng);
  c.groups = repack_groups(type, c.rows, row_bytes, n, group_count);
  c.activations = block_rows(GgmlType::kQ8_0, n, tokens, c.activation_stride, trial < 2 ? -128 : 0, rng);
  return c;
}

TEST_P(RowGroupLegacy, Avx512IsBitIdenticalToTheScalarReference) {
  if (cpu_simd_level() < SimdLevel::kAvx512) GTEST_SKIP() << "no AVX-512 VNNI";
  std::mt19937 rng(62);
  int trial = 0;
  for (const int64_t n : kLengths) {
    for (int64_t group_count = 1; group_count <= 3; ++group_count) {
      for (const int64_t tokens : kTokenCounts)
        expect_avx512_kernel_matches_reference(
            make_case(GetParam(), n, group_count, tokens, trial++ % 4, rng));
    }
  }
  for (int t = 0; t < 4; ++t)
    expect_avx512_kernel_matches_reference(make_case(GetParam(), 1024, 2, 16, t, rng));
}

// The reference unpacks each row: it must be the scalar kernel of the original rows.
TEST_P(RowGroupLegacy, ScalarReferenceMatchesTheScalarKernelOnTheOriginalRows) {
  std::mt19937 rng(63);
  for (const int64_t n : kLengths) {
    for (int trial = 0; trial < 4; ++trial) {
      expect_reference_is_scalar_kernel(make_case(GetParam(), n, 2, 3, trial, rng));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, RowGroupLegacy, ::testing::Values(GgmlType::kQ8_0, GgmlType::kQ4_0),
                         [](const ::testing::TestParamInfo<GgmlType>& info) {
                           return info.param == GgmlType::kQ8_0 ? std::string("q8_0") : std::string("q4_0");
                         });

}  // namespace
}  // namespace torchllm
