// The several-row block dot products (block_dot_rows_function): each row's float is bit for bit the
// single-row kernel's at that level and the scalar reference's, for row counts around the kernels' groups of
// four, row lengths with whole 8-block groups, a 4-block group and tails, on random rows, extreme ones
// (largest nibbles, fifth bits, scales; activations of -128) and a mix of both in one group.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "model/kernels/block_dot.h"
#include "model/kernels/block_dot_kernels.h"
#include "model/kernels/block_layouts.h"
#include "model/quant/fp16.h"
#include "q8_k_rows.h"

namespace torchllm {
namespace {

constexpr GgmlType kKTypes[] = {GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K};
// 1, 4, 12 and 16 blocks; 5, 7 and 11 end in tails that are not a multiple of four or eight.
constexpr int64_t kLengths[] = {256, 1024, 3072, 4096, 5 * 256, 7 * 256, 11 * 256};

// The byte offsets of a block's fp16 scales.
std::vector<size_t> fp16_offsets(GgmlType type) {
  if (type == GgmlType::kQ6_K) return {offsetof(BlockQ6_K, d)};
  return {0, 2};
}

void set_fp16(uint8_t* p, float v) {
  const uint16_t h = fp32_to_fp16(v);
  std::memcpy(p, &h, sizeof h);
}

// `rows` weight rows `stride` bytes apart (the gap filled with garbage): random bytes with sane fp16 scales,
// or every byte 0xFF with scales of 1 for the rows `extreme` picks.
template <typename Extreme>
std::vector<uint8_t> weight_rows(GgmlType type, int64_t n, int64_t rows, int64_t stride, std::mt19937& rng,
                                 Extreme extreme) {
  std::vector<uint8_t> w(static_cast<size_t>(rows * stride));
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(-0.1f, 0.1f);
  for (uint8_t& v : w) v = static_cast<uint8_t>(byte(rng));
  const int64_t row_bytes = quantized_row_bytes(type, n);
  const int64_t block_bytes = row_bytes / (n / block_elements(type));
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* row = w.data() + r * stride;
    if (extreme(r)) std::memset(row, 0xFF, static_cast<size_t>(row_bytes));
    for (int64_t b = 0; b < row_bytes; b += block_bytes) {
      for (const size_t off : fp16_offsets(type)) set_fp16(row + b + off, extreme(r) ? 1.0f : scale(rng));
    }
  }
  return w;
}

TEST(BlockDotRows, EveryRowIsBitIdenticalToTheSingleRowKernelAndTheScalarReference) {
  const SimdLevel simd = cpu_simd_level();
  if (!block_dot_rows_function(GgmlType::kQ4_K, simd)) GTEST_SKIP() << "no several-row kernel at this level";
  std::mt19937 rng(33);
  for (const GgmlType type : kKTypes) {
    const BlockDotRowsFn rows_dot = block_dot_rows_function(type, simd);
    const BlockDotFn single = block_dot_function(type, simd);
    const BlockDotFn scalar = block_dot_function(type, SimdLevel::kScalar);
    ASSERT_NE(rows_dot, nullptr);
    for (const int64_t n : kLengths) {
      const int64_t row_bytes = quantized_row_bytes(type, n);
      for (int64_t rows = 1; rows <= 9; ++rows) {
        for (int trial = 0; trial < 4; ++trial) {
          // Trial 0: all extreme; 1: extreme and random rows mixed; 2-3: random, the rows packed or apart.
          const auto extreme = [&](int64_t r) { return trial == 0 || (trial == 1 && r % 3 != 1); };
          const int64_t stride = trial == 3 ? row_bytes + 48 : row_bytes;
          const std::vector<uint8_t> w = weight_rows(type, n, rows, stride, rng, extreme);
          const std::vector<uint8_t> a = q8_k_rows(n, 1, rng, trial == 0 ? -128 : 0);
          std::vector<float> out(static_cast<size_t>(rows) + 1, -7.0f);
          rows_dot(w.data(), stride, a.data(), rows, n, out.data());
          for (int64_t r = 0; r < rows; ++r) {
            const uint8_t* row = w.data() + r * stride;
            const std::string where = "type " + std::to_string(static_cast<int>(type)) + " n " +
                                      std::to_string(n) + " rows " + std::to_string(rows) + " row " +
                                      std::to_string(r) + " trial " + std::to_string(trial);
            ASSERT_EQ(float_bits(out[r]), float_bits(single(row, a.data(), n))) << where;
            ASSERT_EQ(float_bits(out[r]), float_bits(scalar(row, a.data(), n))) << where;
          }
          EXPECT_EQ(out[rows], -7.0f) << "wrote past the last row";
        }
      }
    }
  }
}

TEST(BlockDotRows, OnlyTheAvx512KKernelsHaveOne) {
  EXPECT_EQ(block_dot_rows_function(GgmlType::kQ4_K, SimdLevel::kAvx512), &kernels::dot_rows_q4_k_avx512);
  EXPECT_EQ(block_dot_rows_function(GgmlType::kQ5_K, SimdLevel::kAvx512), &kernels::dot_rows_q5_k_avx512);
  EXPECT_EQ(block_dot_rows_function(GgmlType::kQ6_K, SimdLevel::kAvx512), &kernels::dot_rows_q6_k_avx512);
  for (const GgmlType type :
       {GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1}) {
    EXPECT_EQ(block_dot_rows_function(type, SimdLevel::kAvx512), nullptr);
  }
  for (const GgmlType type : kKTypes) {
    EXPECT_EQ(block_dot_rows_function(type, SimdLevel::kScalar), nullptr);
    EXPECT_EQ(block_dot_rows_function(type, SimdLevel::kAvx2), nullptr);
  }
}

}  // namespace
}  // namespace torchllm
