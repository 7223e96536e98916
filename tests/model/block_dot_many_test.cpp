// The several-token block dot products (block_dot_many_function): at every SIMD level this CPU has, each
// token's float is bit for bit the single-token kernel's at that level and the scalar reference's, for token
// counts around the kernels' passes, on random rows and on extreme ones (largest weights and scales,
// activations of -128).
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

namespace torchllm {
namespace {

constexpr GgmlType kTypes[] = {GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0,
                               GgmlType::kQ5_1, GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K};
constexpr int64_t kTokenCounts[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 17, 31};

bool is_k_type(GgmlType type) {
  return type == GgmlType::kQ4_K || type == GgmlType::kQ5_K || type == GgmlType::kQ6_K;
}

// The byte offsets of a block's fp16 scales.
std::vector<size_t> fp16_offsets(GgmlType type) {
  switch (type) {
    case GgmlType::kQ4_1:
    case GgmlType::kQ5_1:
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
      return {0, 2};
    case GgmlType::kQ6_K:
      return {offsetof(BlockQ6_K, d)};
    default:
      return {0};
  }
}

void set_fp16(uint8_t* p, float v) {
  const uint16_t h = fp32_to_fp16(v);
  std::memcpy(p, &h, sizeof h);
}

// The most negative quant an extreme row holds: the AVX2 kernels' sign trick needs -127 or more (which is all
// llama.cpp's quantizers produce); the scalar and AVX-512 kernels take -128.
int most_negative(SimdLevel level) { return level == SimdLevel::kAvx2 ? -127 : -128; }

// Random bytes (Q8_0 quants no lower than `lowest`) with sane fp16 scales; extreme: every byte 0xFF (largest
// nibbles, fifth bits and sub-block scales; for Q8_0 the most negative weight) and scales of 1.
std::vector<uint8_t> weight_row(GgmlType type, int64_t n, std::mt19937& rng, bool extreme, int lowest) {
  std::vector<uint8_t> row(static_cast<size_t>(quantized_row_bytes(type, n)));
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(-0.1f, 0.1f);
  for (uint8_t& v : row) {
    v = extreme ? (type == GgmlType::kQ8_0 ? static_cast<uint8_t>(lowest) : 0xFF)
                : static_cast<uint8_t>(byte(rng));
    if (type == GgmlType::kQ8_0 && static_cast<int8_t>(v) < lowest) v = static_cast<uint8_t>(lowest);
  }
  const size_t block_bytes = row.size() / static_cast<size_t>(n / block_elements(type));
  for (size_t b = 0; b < row.size(); b += block_bytes) {
    for (const size_t off : fp16_offsets(type)) set_fp16(&row[b + off], extreme ? 1.0f : scale(rng));
  }
  return row;
}

// `tokens` activation rows `stride` bytes apart (the gap filled with garbage): random quants in [-128, 127]
// (all `lowest` when extreme) with random scales, and the sums each format stores computed from them.
std::vector<uint8_t> activation_rows(GgmlType weight, int64_t n, int64_t tokens, int64_t stride,
                                     std::mt19937& rng, bool extreme, int lowest) {
  std::vector<uint8_t> rows(static_cast<size_t>(tokens * stride));
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> q(lowest, 127);
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  for (uint8_t& v : rows) v = static_cast<uint8_t>(byte(rng));
  const GgmlType act = activation_type(weight);
  for (int64_t t = 0; t < tokens; ++t) {
    uint8_t* row = rows.data() + t * stride;
    for (int64_t b = 0; b < n / block_elements(act); ++b) {
      if (act == GgmlType::kQ8_K) {
        auto* block = reinterpret_cast<BlockQ8_K*>(row) + b;
        block->d = extreme ? 1.0f : scale(rng);
        for (int8_t& v : block->qs) v = static_cast<int8_t>(extreme ? lowest : q(rng));
        for (int j = 0; j < kQK_K / 16; ++j) {
          int sum = 0;
          for (int i = 0; i < 16; ++i) sum += block->qs[16 * j + i];
          block->bsums[j] = static_cast<int16_t>(sum);
        }
      } else if (act == GgmlType::kQ8_1) {
        auto* block = reinterpret_cast<BlockQ8_1*>(row) + b;
        block->d = fp32_to_fp16(extreme ? 1.0f : scale(rng));
        block->s = fp32_to_fp16(extreme ? -1.0f : scale(rng));
        for (int8_t& v : block->qs) v = static_cast<int8_t>(extreme ? lowest : q(rng));
      } else {
        auto* block = reinterpret_cast<BlockQ8_0*>(row) + b;
        block->d = fp32_to_fp16(extreme ? 1.0f : scale(rng));
        for (int8_t& v : block->qs) v = static_cast<int8_t>(extreme ? lowest : q(rng));
      }
    }
  }
  return rows;
}

// Row lengths with whole 8-block groups, 4-block groups and tails.
std::vector<int64_t> lengths(GgmlType type) {
  if (is_k_type(type)) return {256, 1024, 2048, 2816, 3328};
  return {32, 96, 256, 288, 1024, 3104};
}

uint32_t bits(float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

TEST(BlockDotMany, EveryTokenIsBitIdenticalToTheSingleTokenKernelAndTheScalarReference) {
  std::mt19937 rng(21);
  for (int level = 0; level <= static_cast<int>(cpu_simd_level()); ++level) {
    const auto simd = static_cast<SimdLevel>(level);
    for (const GgmlType type : kTypes) {
      const BlockDotManyFn many = block_dot_many_function(type, simd);
      const BlockDotFn single = block_dot_function(type, simd);
      const BlockDotFn scalar = block_dot_function(type, SimdLevel::kScalar);
      for (const int64_t n : lengths(type)) {
        const int64_t stride = quantized_row_bytes(activation_type(type), n) + 40;
        for (const int64_t tokens : kTokenCounts) {
          for (int trial = 0; trial < 3; ++trial) {
            const bool extreme = trial == 0;
            const std::vector<uint8_t> w = weight_row(type, n, rng, extreme, most_negative(simd));
            const std::vector<uint8_t> a =
                activation_rows(type, n, tokens, stride, rng, extreme, most_negative(simd));
            std::vector<float> out(static_cast<size_t>(tokens) + 1, -7.0f);
            many(w.data(), a.data(), stride, tokens, n, out.data());
            for (int64_t t = 0; t < tokens; ++t) {
              const uint8_t* row = a.data() + t * stride;
              const std::string where = std::string(simd_level_name(simd)) + " type " +
                                        std::to_string(static_cast<int>(type)) + " n " + std::to_string(n) +
                                        " tokens " + std::to_string(tokens) + " token " + std::to_string(t) +
                                        " trial " + std::to_string(trial);
              ASSERT_EQ(bits(out[t]), bits(single(w.data(), row, n))) << where;
              ASSERT_EQ(bits(out[t]), bits(scalar(w.data(), row, n))) << where;
            }
            EXPECT_EQ(out[tokens], -7.0f) << "wrote past the last token";
          }
        }
      }
    }
  }
}

TEST(BlockDotMany, AvxLevelsTakeTheSeveralTokenKernels) {
  EXPECT_EQ(block_dot_many_function(GgmlType::kQ8_0, SimdLevel::kAvx512), &kernels::dot_many_q8_0_avx512);
  EXPECT_EQ(block_dot_many_function(GgmlType::kQ4_0, SimdLevel::kAvx512), &kernels::dot_many_q4_0_avx512);
  EXPECT_EQ(block_dot_many_function(GgmlType::kQ5_0, SimdLevel::kAvx512), &kernels::dot_many_q5_0_avx512);
  EXPECT_EQ(block_dot_many_function(GgmlType::kQ4_K, SimdLevel::kAvx512), &kernels::dot_many_q4_k_avx512);
  EXPECT_EQ(block_dot_many_function(GgmlType::kQ6_K, SimdLevel::kAvx512), &kernels::dot_many_q6_k_avx512);
  EXPECT_NE(block_dot_many_function(GgmlType::kQ4_K, SimdLevel::kScalar), &kernels::dot_many_q4_k_avx512);
  EXPECT_NE(block_dot_many_function(GgmlType::kQ4_K, SimdLevel::kAvx2), &kernels::dot_many_q4_k_avx512);
  EXPECT_EQ(block_dot_many_function(GgmlType::kQ4_K, SimdLevel::kAvx2), &kernels::dot_many_q4_k_avx2);
  EXPECT_EQ(block_dot_many_function(GgmlType::kQ5_K, SimdLevel::kAvx2), &kernels::dot_many_q5_k_avx2);
  EXPECT_EQ(block_dot_many_function(GgmlType::kQ6_K, SimdLevel::kAvx2), &kernels::dot_many_q6_k_avx2);
}

}  // namespace
}  // namespace torchllm
