// The Q4_K token-tile kernel (token_tile.h): every present token's float is bit for bit dot_q4_k_scalar of
// the weight row and the token's original Q8_K row, for token counts up to a full tile, row counts around the
// kernel's passes (8, 4, 2, 1), row lengths with whole 8-block groups and tails, on random rows, extreme
// ones (every nibble 15, every six-bit scale and min 63, fp16 scales 1) and activations of all -128 or +127.
// The tile reference (dot_tile_scalar, through untile_q8_k) is checked against the same direct scalar.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "model/kernels/block_dot.h"
#include "model/kernels/block_dot_kernels.h"
#include "model/kernels/block_layouts.h"
#include "model/kernels/token_tile.h"
#include "model/quant/fp16.h"
#include "q8_k_rows.h"

namespace torchllm {
namespace {

// 1, 4, 12 and 16 blocks; 5, 7 and 11 end in tails that are not a multiple of four or eight.
constexpr int64_t kLengths[] = {256, 1024, 3072, 5 * 256, 7 * 256, 11 * 256, 16 * 256};
constexpr int64_t kRowCounts[] = {1, 3, 4, 5, 7, 8, 9, 31, 32, 33};
constexpr int64_t kTokenCounts[] = {1, 3, 8, 15, 16};

enum class Activation { kRandom, kMinus128, kPlus127 };

// `rows` Q4_K rows `stride` bytes apart (the gap filled with garbage): random bytes with sane fp16 scales, or
// every byte 0xFF with d = dmin = 1 for the rows `extreme` picks.
template <typename Extreme>
std::vector<uint8_t> weight_rows(int64_t n, int64_t rows, int64_t stride, std::mt19937& rng,
                                 Extreme extreme) {
  std::vector<uint8_t> w(static_cast<size_t>(rows * stride));
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(-0.1f, 0.1f);
  for (uint8_t& v : w) v = static_cast<uint8_t>(byte(rng));
  for (int64_t r = 0; r < rows; ++r) {
    auto* blocks = reinterpret_cast<BlockQ4_K*>(w.data() + r * stride);
    if (extreme(r)) std::memset(blocks, 0xFF, static_cast<size_t>(quantized_row_bytes(GgmlType::kQ4_K, n)));
    for (int64_t b = 0; b < n / kQK_K; ++b) {
      const uint16_t d = fp32_to_fp16(extreme(r) ? 1.0f : scale(rng));
      const uint16_t dmin = fp32_to_fp16(extreme(r) ? 1.0f : scale(rng));
      std::memcpy(&blocks[b].d, &d, sizeof d);
      std::memcpy(&blocks[b].dmin, &dmin, sizeof dmin);
    }
  }
  return w;
}

struct Case {
  int64_t n, rows, tokens, stride;
  std::vector<uint8_t> weights, activations, tile;
};

Case make_case(int64_t n, int64_t rows, int64_t tokens, int trial, std::mt19937& rng) {
  // Trial 0: all extreme; 1: extreme and random rows mixed, activations +127; 2-3: random, the rows packed or
  // apart.
  const auto extreme = [&](int64_t r) { return trial == 0 || (trial == 1 && r % 3 != 1); };
  const int fill = trial == 0 ? -128 : trial == 1 ? 127 : 0;
  const int64_t row_bytes = quantized_row_bytes(GgmlType::kQ4_K, n);
  Case c{n, rows, tokens, trial == 3 ? row_bytes + 48 : row_bytes, {}, {}, {}};
  c.weights = weight_rows(n, rows, c.stride, rng, extreme);
  c.activations = q8_k_rows(n, tokens, rng, fill);
  c.tile.resize(static_cast<size_t>(tile_bytes(n)));
  tile_q8_k(c.activations.data(), quantized_row_bytes(GgmlType::kQ8_K, n), tokens, n, c.tile.data());
  return c;
}

// Every present token's output against dot_q4_k_scalar of the original rows; nothing written past the rows.
void expect_matches_scalar(BlockDotTileFn dot, const Case& c, const std::string& name) {
  std::vector<float> out(static_cast<size_t>((c.rows + 1) * kTileTokens), -7.0f);
  dot(c.weights.data(), c.stride, c.rows, c.tile.data(), c.n, out.data());
  const int64_t a_bytes = quantized_row_bytes(GgmlType::kQ8_K, c.n);
  for (int64_t r = 0; r < c.rows; ++r) {
    for (int64_t t = 0; t < c.tokens; ++t) {
      const float expected =
          kernels::dot_q4_k_scalar(c.weights.data() + r * c.stride, c.activations.data() + t * a_bytes, c.n);
      ASSERT_EQ(float_bits(out[r * kTileTokens + t]), float_bits(expected))
          << name << " n " << c.n << " rows " << c.rows << " tokens " << c.tokens << " row " << r << " token "
          << t;
    }
  }
  for (int64_t t = 0; t < kTileTokens; ++t)
    ASSERT_EQ(out[c.rows * kTileTokens + t], -7.0f) << "wrote past the rows";
}

TEST(DotTileQ4K, Avx512IsBitIdenticalToTheScalarReference) {
  if (cpu_simd_level() < SimdLevel::kAvx512) GTEST_SKIP() << "no AVX-512 VNNI";
  ASSERT_EQ(block_dot_tile_function(GgmlType::kQ4_K, SimdLevel::kAvx512), &kernels::dot_tile_q4_k_avx512);
  std::mt19937 rng(41);
  int trial = 0;
  for (const int64_t n : kLengths) {
    for (const int64_t rows : kRowCounts) {
      for (const int64_t tokens : kTokenCounts) {
        expect_matches_scalar(kernels::dot_tile_q4_k_avx512, make_case(n, rows, tokens, trial++ % 4, rng),
                              "avx512");
      }
    }
  }
}

TEST(DotTileQ4K, Avx512ExtremesEveryTrialAtFullTile) {
  if (cpu_simd_level() < SimdLevel::kAvx512) GTEST_SKIP() << "no AVX-512 VNNI";
  std::mt19937 rng(42);
  for (const int64_t n : kLengths) {
    for (const int64_t rows : {1, 9, 32}) {
      for (int trial = 0; trial < 4; ++trial) {
        expect_matches_scalar(kernels::dot_tile_q4_k_avx512, make_case(n, rows, kTileTokens, trial, rng),
                              "avx512");
      }
    }
  }
}

// The tile reference goes through untile_q8_k: it agrees with the direct scalar only if the tile round trip
// keeps every quant, sum and scale; the round trip itself is checked byte for byte.
TEST(DotTileQ4K, TileReferenceMatchesTheDirectScalarAndUntileRestoresTheRows) {
  std::mt19937 rng(43);
  const auto scalar_tile = [](const uint8_t* w, int64_t stride, int64_t rows, const uint8_t* tile, int64_t n,
                              float* out) {
    dot_tile_scalar(GgmlType::kQ4_K, w, stride, rows, tile, n, out);
  };
  for (const int64_t n : {256, 7 * 256}) {
    for (const int64_t tokens : kTokenCounts) {
      for (int trial = 0; trial < 4; ++trial) {
        const Case c = make_case(n, 5, tokens, trial, rng);
        expect_matches_scalar(scalar_tile, c, "dot_tile_scalar");
        const int64_t a_bytes = quantized_row_bytes(GgmlType::kQ8_K, n);
        std::vector<uint8_t> row(static_cast<size_t>(a_bytes));
        for (int64_t t = 0; t < tokens; ++t) {
          untile_q8_k(c.tile.data(), t, n, row.data());
          ASSERT_EQ(std::memcmp(row.data(), c.activations.data() + t * a_bytes, row.size()), 0)
              << "token " << t;
        }
      }
    }
  }
}

TEST(DotTileQ4K, OnlyAvx512HasATileKernel) {
  EXPECT_EQ(block_dot_tile_function(GgmlType::kQ4_K, SimdLevel::kAvx512), &kernels::dot_tile_q4_k_avx512);
  EXPECT_EQ(block_dot_tile_function(GgmlType::kQ4_K, SimdLevel::kAvx2), nullptr);
  EXPECT_EQ(block_dot_tile_function(GgmlType::kQ4_K, SimdLevel::kScalar), nullptr);
  EXPECT_EQ(block_dot_tile_function(GgmlType::kQ5_K, SimdLevel::kAvx512), nullptr);
}

}  // namespace
}  // namespace torchllm
