// The transposing bfloat16 store of tile results (tile_store_bf16_function): every stored value is
// float_to_bf16_bits of the float a row-by-row loop stores, for row counts around its 16-row blocks and
// partial token counts, on values that round up, down, to even, to infinity, and NaNs; nothing outside
// [tokens, rows] is written.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <random>
#include <vector>

#include "model/kernels/bf16_bits.h"
#include "model/kernels/token_tile.h"

namespace torchllm {
namespace {

TEST(TileStoreBf16, EqualsTheElementwiseRounding) {
  const TileStoreBf16Fn store = tile_store_bf16_function(cpu_simd_level());
  if (!store) GTEST_SKIP() << "no AVX-512";
  std::mt19937 rng(3);
  std::uniform_int_distribution<uint32_t> any_bits;
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::max(),       1.00390625f /* halfway, even */,
                            1.01171875f /* halfway, odd */,          -0.0f,
                            std::numeric_limits<float>::denorm_min()};
  for (const int64_t rows : {1, 15, 16, 17, 32, 33}) {
    for (const int64_t tokens : {1, 5, 16}) {
      std::vector<float> values(static_cast<size_t>(rows * kTileTokens));
      for (size_t i = 0; i < values.size(); ++i) {
        uint32_t bits = any_bits(rng);
        float v;
        std::memcpy(&v, &bits, sizeof v);
        values[i] = i % 5 == 0 ? specials[(i / 5) % std::size(specials)] : v;
      }
      const int64_t stride = rows + 3;  // a wider output, whose other columns must stay untouched
      std::vector<uint16_t> out(static_cast<size_t>(kTileTokens * stride), 0xABCD);
      store(out.data(), stride, values.data(), rows, tokens);
      for (int64_t t = 0; t < kTileTokens; ++t) {
        for (int64_t j = 0; j < stride; ++j) {
          const uint16_t want =
              t < tokens && j < rows ? float_to_bf16_bits(values[j * kTileTokens + t]) : 0xABCD;
          ASSERT_EQ(out[t * stride + j], want)
              << rows << " rows, " << tokens << " tokens: row " << j << " token " << t;
        }
      }
    }
  }
}

}  // namespace
}  // namespace torchllm
