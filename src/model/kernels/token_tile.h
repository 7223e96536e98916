#pragma once

// K-quant dot products of several weight rows with up to 16 tokens at once, tokens in vector lanes.
//
// The Q8_K activations of the tokens are first laid out as a tile (TileQ8_K per super-block): for each group
// of four consecutive elements, the 16 tokens' four bytes side by side, so that one 64-byte vector holds a
// group for every token. A kernel then broadcasts four weight values of one row and multiplies them into all
// 16 tokens with one dpbusd: no horizontal sums, and each weight block is unpacked once for 16 tokens.
// The tile keeps q + 128, so that one xor of the sign bits gives the signed q back for dpbusd's signed
// operand (the weights, 0..15 or 0..63, are its unsigned one). The integer block sums are exact and the float
// terms are formed and added as the scalar reference does (LaneSum's order), so out[r][t] is bit for bit
// block_dot_function(weight, kScalar) of row r and token t. A tile kernel always computes 16 lanes: it pays
// from about 8-10 tokens (dot_tile_bench).

#include <cstdint>

#include "model/kernels/block_layouts.h"
#include "model/kernels/simd_level.h"
#include "model/quant/dequantize.h"

namespace torchllm {

constexpr int64_t kTileTokens = 16;

#pragma pack(push, 1)
// One Q8_K super-block of 16 tokens. Lanes of tokens past the tile's count hold q = 0, sums 0 and d = 0.
struct TileQ8_K {
  uint8_t qs[kQK_K / 4][kTileTokens][4];  // group g (elements 4g..4g+3) of token t, each q + 128
  // (Σ of 32-element sub-block 2j, Σ of sub-block 2j+1) of token t: Q4_K/Q5_K's mins.
  int16_t sums32[4][kTileTokens][2];
  // (bsums[2j], bsums[2j+1]) of token t (16-element sums): Q6_K's -32 offset.
  int16_t sums16[8][kTileTokens][2];
  float d[kTileTokens];  // token t's scale
};
#pragma pack(pop)
static_assert(sizeof(TileQ8_K) == 4096 + 256 + 512 + 64);

// Bytes of the tile of n elements (a multiple of 256).
inline int64_t tile_bytes(int64_t n) { return n / kQK_K * static_cast<int64_t>(sizeof(TileQ8_K)); }

// Lays out `tokens` (1..16) Q8_K activation rows of n elements, `stride` bytes apart, as n / 256 TileQ8_K.
void tile_q8_k(const uint8_t* activation_rows, int64_t stride, int64_t tokens, int64_t n, uint8_t* tile);

// `rows` weight rows `weight_stride` bytes apart against a tile of n elements: out[r * 16 + t] is row r's
// dot product with token t (lanes past the tile's tokens are meaningless).
using BlockDotTileFn = void (*)(const uint8_t* weight_rows, int64_t weight_stride, int64_t rows,
                                const uint8_t* tile, int64_t n, float* out);
// Token t's Q8_K row back out of a tile of n elements (the tests' and the reference's way back).
void untile_q8_k(const uint8_t* tile, int64_t t, int64_t n, uint8_t* activation_row);

// The reference: each token's row untiled and each weight row through the scalar kernel.
void dot_tile_scalar(GgmlType weight, const uint8_t* weight_rows, int64_t weight_stride, int64_t rows,
                     const uint8_t* tile, int64_t n, float* out);

// The tile kernel for `weight` at `level`: Q4_K and Q6_K with AVX-512 VNNI; nullptr otherwise.
BlockDotTileFn block_dot_tile_function(GgmlType weight, SimdLevel level);

// Stores a tile kernel's `rows` x 16 results as bfloat16, token-major: out[t * out_stride + j] is
// float_to_bf16_bits(values[j * 16 + t]) for t < tokens. nullptr below AVX-512 (the caller loops).
using TileStoreBf16Fn = void (*)(uint16_t* out, int64_t out_stride, const float* values, int64_t rows,
                                 int64_t tokens);
TileStoreBf16Fn tile_store_bf16_function(SimdLevel level);

namespace kernels {
void store_tile_bf16_avx512(uint16_t* out, int64_t out_stride, const float* values, int64_t rows,
                            int64_t tokens);
void dot_tile_q4_k_avx512(const uint8_t* weight_rows, int64_t weight_stride, int64_t rows,
                          const uint8_t* tile, int64_t n, float* out);
void dot_tile_q6_k_avx512(const uint8_t* weight_rows, int64_t weight_stride, int64_t rows,
                          const uint8_t* tile, int64_t n, float* out);
}  // namespace kernels

}  // namespace torchllm
