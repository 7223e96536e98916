#include "model/kernels/token_tile.h"

#include <cstring>
#include <vector>

#include "model/kernels/block_dot.h"

namespace torchllm {

void tile_q8_k(const uint8_t* activation_rows, int64_t stride, int64_t tokens, int64_t n, uint8_t* tile) {
  auto* out = reinterpret_cast<TileQ8_K*>(tile);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    TileQ8_K& o = out[b];
    std::memset(&o, 0, sizeof o);
    std::memset(o.qs, 0x80, sizeof o.qs);  // q = 0 in the unused lanes
    for (int64_t t = 0; t < tokens; ++t) {
      const auto& a = reinterpret_cast<const BlockQ8_K*>(activation_rows + t * stride)[b];
      for (int g = 0; g < kQK_K / 4; ++g) {
        uint32_t group;
        std::memcpy(&group, a.qs + 4 * g, sizeof group);
        group ^= 0x80808080u;  // q + 128 in each byte
        std::memcpy(o.qs[g][t], &group, sizeof group);
      }
      for (int j = 0; j < 4; ++j) {
        o.sums32[j][t][0] = static_cast<int16_t>(a.bsums[4 * j] + a.bsums[4 * j + 1]);
        o.sums32[j][t][1] = static_cast<int16_t>(a.bsums[4 * j + 2] + a.bsums[4 * j + 3]);
      }
      for (int j = 0; j < 8; ++j) {
        o.sums16[j][t][0] = a.bsums[2 * j];
        o.sums16[j][t][1] = a.bsums[2 * j + 1];
      }
      o.d[t] = a.d;
    }
  }
}

void untile_q8_k(const uint8_t* tile, int64_t t, int64_t n, uint8_t* activation_row) {
  const auto* in = reinterpret_cast<const TileQ8_K*>(tile);
  auto* a = reinterpret_cast<BlockQ8_K*>(activation_row);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const TileQ8_K& o = in[b];
    for (int g = 0; g < kQK_K / 4; ++g) {
      for (int i = 0; i < 4; ++i) a[b].qs[4 * g + i] = static_cast<int8_t>(o.qs[g][t][i] ^ 0x80);
    }
    for (int j = 0; j < 8; ++j) {
      a[b].bsums[2 * j] = o.sums16[j][t][0];
      a[b].bsums[2 * j + 1] = o.sums16[j][t][1];
    }
    a[b].d = o.d[t];
  }
}

void dot_tile_scalar(GgmlType weight, const uint8_t* weight_rows, int64_t weight_stride, int64_t rows,
                     const uint8_t* tile, int64_t n, float* out) {
  const BlockDotFn dot = block_dot_function(weight, SimdLevel::kScalar);
  std::vector<uint8_t> row(static_cast<size_t>(quantized_row_bytes(GgmlType::kQ8_K, n)));
  for (int64_t t = 0; t < kTileTokens; ++t) {
    untile_q8_k(tile, t, n, row.data());
    for (int64_t r = 0; r < rows; ++r)
      out[r * kTileTokens + t] = dot(weight_rows + r * weight_stride, row.data(), n);
  }
}

BlockDotTileFn block_dot_tile_function(GgmlType weight, SimdLevel level) {
  if (level < SimdLevel::kAvx512) return nullptr;
  switch (weight) {
    case GgmlType::kQ4_K:
      return kernels::dot_tile_q4_k_avx512;
    case GgmlType::kQ6_K:
      return kernels::dot_tile_q6_k_avx512;
    default:
      return nullptr;
  }
}

TileStoreBf16Fn tile_store_bf16_function(SimdLevel level) {
  return level >= SimdLevel::kAvx512 ? kernels::store_tile_bf16_avx512 : nullptr;
}

}  // namespace torchllm
