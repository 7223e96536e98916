// Q4_K and Q5_K row groups: repacking round trip, and the AVX-512 kernels bit for bit against the scalar
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

constexpr int64_t kLengths[] = {256, 1024, 3072};  // 1, 4 and 12 super-blocks
constexpr int64_t kTokenCounts[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 32};

// `rows` rows of `type` (Q4_K or Q5_K: fp16 d and dmin first in each super-block) of n elements `stride`
// bytes apart (the gap garbage): random bytes with finite fp16 d and dmin, or (extreme) every byte 0xFF with
// d = dmin = 1.
std::vector<uint8_t> k_rows(GgmlType type, int64_t n, int64_t rows, int64_t stride, bool extreme,
                            std::mt19937& rng) {
  const int64_t block_bytes = quantized_row_bytes(type, kQK_K);
  std::vector<uint8_t> w(static_cast<size_t>(rows * stride));
  std::uniform_int_distribution<int> byte(0, 255);
  for (uint8_t& v : w) v = static_cast<uint8_t>(byte(rng));
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* row = w.data() + r * stride;
    if (extreme) std::memset(row, 0xFF, static_cast<size_t>(quantized_row_bytes(type, n)));
    for (int64_t b = 0; b < n / kQK_K; ++b) {
      const uint16_t d = extreme ? fp32_to_fp16(1.0f) : random_finite_half(rng);
      const uint16_t dmin = extreme ? fp32_to_fp16(1.0f) : random_finite_half(rng);
      std::memcpy(row + b * block_bytes, &d, sizeof d);
      std::memcpy(row + b * block_bytes + sizeof d, &dmin, sizeof dmin);
    }
  }
  return w;
}

class RowGroupK : public ::testing::TestWithParam<GgmlType> {};

TEST(RowGroupKLayout, GroupBytesAreTheUnpackedScalesMore) {
  EXPECT_EQ(row_group_bytes(GgmlType::kQ4_K, 3072), 12 * 2368);
  EXPECT_EQ(row_group_bytes(GgmlType::kQ5_K, 3072), 12 * 2880);
  EXPECT_EQ(row_group_dot_function(GgmlType::kQ4_K, SimdLevel::kAvx512), &kernels::row_group_dot_q4_k_avx512);
  EXPECT_EQ(row_group_dot_function(GgmlType::kQ5_K, SimdLevel::kAvx512), &kernels::row_group_dot_q5_k_avx512);
  EXPECT_EQ(row_group_dot_function(GgmlType::kQ4_K, SimdLevel::kAvx2), nullptr);
  EXPECT_EQ(row_group_dot_function(GgmlType::kQ5_K, SimdLevel::kAvx2), nullptr);
}

// Every bit of every row comes back, whatever the bytes (d and dmin included, NaN patterns too).
TEST_P(RowGroupK, RepackThenUnpackGivesBackEveryByte) {
  std::mt19937 rng(51);
  for (const int64_t n : kLengths) expect_repack_round_trip(GetParam(), n, rng);
}

// Trial 0: extreme rows, activations all -128; 1: extreme rows, +127; 2: random; 3: random, activations
// apart.
RowGroupCase make_case(GgmlType type, int64_t n, int64_t group_count, int64_t tokens, int trial,
                       std::mt19937& rng) {
  const int64_t row_bytes = quantized_row_bytes(type, n);
  const int64_t a_bytes = quantized_row_bytes(GgmlType::kQ8_K, n);
  RowGroupCase c{
      type, n,  group_count, tokens, trial == 3 ? 4 * a_bytes : a_bytes, kGroupRows * group_count + 7,
      {},   {}, {}};
  c.rows = k_rows(type, n, kGroupRows * group_count, row_bytes, trial < 2, rng);
  c.groups = repack_groups(type, c.rows, row_bytes, n, group_count);
  const int fill = trial == 0 ? -128 : trial == 1 ? 127 : 0;
  // Trial 3's tokens are every fourth row of a packed set.
  const std::vector<uint8_t> packed = q8_k_rows(n, trial == 3 ? 4 * tokens : tokens, rng, fill);
  c.activations.assign(packed.begin(), packed.begin() + (tokens - 1) * c.activation_stride + a_bytes);
  return c;
}

TEST_P(RowGroupK, Avx512IsBitIdenticalToTheScalarReference) {
  if (cpu_simd_level() < SimdLevel::kAvx512) GTEST_SKIP() << "no AVX-512 VNNI";
  std::mt19937 rng(52);
  int trial = 0;
  for (const int64_t n : kLengths) {
    for (int64_t group_count = 1; group_count <= 3; ++group_count) {
      for (const int64_t tokens : kTokenCounts) {
        expect_avx512_kernel_matches_reference(
            make_case(GetParam(), n, group_count, tokens, trial++ % 4, rng));
      }
    }
  }
}

TEST_P(RowGroupK, Avx512EveryTrialAtManyTokens) {
  if (cpu_simd_level() < SimdLevel::kAvx512) GTEST_SKIP() << "no AVX-512 VNNI";
  std::mt19937 rng(53);
  for (const int64_t tokens : {1, 6, 32, 33, 41}) {
    for (int trial = 0; trial < 4; ++trial) {
      expect_avx512_kernel_matches_reference(make_case(GetParam(), 3072, 2, tokens, trial, rng));
    }
  }
}

// The reference unpacks each row: it must be the scalar kernel of the original rows.
TEST_P(RowGroupK, ScalarReferenceMatchesTheScalarKernelOnTheOriginalRows) {
  std::mt19937 rng(54);
  for (const int64_t n : kLengths) {
    for (int trial = 0; trial < 4; ++trial) {
      expect_reference_is_scalar_kernel(make_case(GetParam(), n, 2, 3, trial, rng));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, RowGroupK, ::testing::Values(GgmlType::kQ4_K, GgmlType::kQ5_K),
                         [](const ::testing::TestParamInfo<GgmlType>& info) {
                           return info.param == GgmlType::kQ4_K ? std::string("q4_k") : std::string("q5_k");
                         });

}  // namespace
}  // namespace torchllm
