// The Q6_K token-tile kernel (dot_tile_q6_k_avx512): every present token's float is bit for bit the scalar
// reference's on the Q8_K row that was tiled, for token counts 1..16, row counts around the kernel's passes
// of 8, 4, 2 and 1, row lengths of 1..16 super-blocks (tails that are not multiples of 4 or 8), on random
// weights and scales, extreme ones (every byte 0xFF, scales -128 or 127), activations of -128 or +127, and
// mixes of both.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "model/kernels/block_dot.h"
#include "model/kernels/block_dot_kernels.h"
#include "model/kernels/block_layouts.h"
#include "model/kernels/simd_level.h"
#include "model/kernels/token_tile.h"
#include "model/quant/fp16.h"
#include "q8_k_rows.h"

namespace torchllm {
namespace {

constexpr int64_t kLengths[] = {256, 1024, 3072, 5 * 256, 7 * 256, 11 * 256, 16 * 256};
constexpr int64_t kRowCounts[] = {1, 3, 4, 5, 7, 8, 9, 31, 32, 33};
constexpr int64_t kTokenCounts[] = {1, 3, 8, 15, 16};

enum class Kind { kRandom, kExtremeLow, kExtremeHigh };  // extreme: every byte 0xFF, scales -128 / 127

// `rows` Q6_K rows `stride` bytes apart (the gap filled with garbage); row r is kind(r).
template <typename KindOf>
std::vector<uint8_t> weight_rows(int64_t n, int64_t rows, int64_t stride, std::mt19937& rng, KindOf kind) {
  std::vector<uint8_t> w(static_cast<size_t>(rows * stride));
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(-0.1f, 0.1f);
  for (uint8_t& v : w) v = static_cast<uint8_t>(byte(rng));
  for (int64_t r = 0; r < rows; ++r) {
    auto* blocks = reinterpret_cast<BlockQ6_K*>(w.data() + r * stride);
    for (int64_t b = 0; b < n / kQK_K; ++b) {
      BlockQ6_K& block = blocks[b];
      const Kind k = kind(r);
      if (k != Kind::kRandom) {
        std::memset(&block, 0xFF, sizeof block);
        std::memset(block.scales, k == Kind::kExtremeLow ? 0x80 : 0x7F, sizeof block.scales);
      } else {
        block.scales[b % 16] = -128;  // the extreme scales among random ones
        block.scales[(b + 5) % 16] = 127;
      }
      block.d = fp32_to_fp16(k == Kind::kRandom ? scale(rng) : 1.0f);
    }
  }
  return w;
}

TEST(DotTileQ6K, EveryPresentTokenIsBitIdenticalToTheScalarReference) {
  if (cpu_simd_level() < SimdLevel::kAvx512) GTEST_SKIP() << "no AVX-512";
  std::mt19937 rng(61);
  for (const int64_t n : kLengths) {
    const int64_t blocks = n / kQK_K;
    const int64_t row_bytes = blocks * static_cast<int64_t>(sizeof(BlockQ6_K));
    for (const int64_t rows : kRowCounts) {
      for (const int64_t tokens : kTokenCounts) {
        for (int trial = 0; trial < 4; ++trial) {
          // Trial 0: every row extreme, activations -128; 1: extreme and random rows mixed, activations
          // +127; 2: mixed rows, random activations; 3: random, the rows apart.
          const auto kind = [&](int64_t r) {
            if (trial == 3 || (trial > 0 && r % 3 == 1)) return Kind::kRandom;
            return r % 2 ? Kind::kExtremeHigh : Kind::kExtremeLow;
          };
          const int64_t stride = trial == 3 ? row_bytes + 48 : row_bytes;
          const std::vector<uint8_t> w = weight_rows(n, rows, stride, rng, kind);
          const int extreme = trial == 0 ? -128 : trial == 1 ? 127 : 0;
          const std::vector<uint8_t> a = q8_k_rows(n, tokens, rng, extreme);
          const int64_t a_stride = blocks * static_cast<int64_t>(sizeof(BlockQ8_K));
          std::vector<uint8_t> tile(static_cast<size_t>(tile_bytes(n)));
          tile_q8_k(a.data(), a_stride, tokens, n, tile.data());
          std::vector<float> out(static_cast<size_t>((rows + 1) * kTileTokens), -7.0f);
          kernels::dot_tile_q6_k_avx512(w.data(), stride, rows, tile.data(), n, out.data());
          for (int64_t r = 0; r < rows; ++r) {
            for (int64_t t = 0; t < tokens; ++t) {
              const float expected =
                  kernels::dot_q6_k_scalar(w.data() + r * stride, a.data() + t * a_stride, n);
              ASSERT_EQ(float_bits(out[r * kTileTokens + t]), float_bits(expected))
                  << "n " << n << " rows " << rows << " row " << r << " tokens " << tokens << " token " << t
                  << " trial " << trial;
            }
          }
          for (int64_t i = rows * kTileTokens; i < (rows + 1) * kTileTokens; ++i) {
            EXPECT_EQ(out[i], -7.0f) << "wrote past the last row";
          }
        }
      }
    }
  }
}

TEST(DotTileQ6K, IsTheAvx512TileKernel) {
  EXPECT_EQ(block_dot_tile_function(GgmlType::kQ6_K, SimdLevel::kAvx512), &kernels::dot_tile_q6_k_avx512);
  EXPECT_EQ(block_dot_tile_function(GgmlType::kQ6_K, SimdLevel::kAvx2), nullptr);
}

}  // namespace
}  // namespace torchllm
