// bf16_gemv on AMX tiles (amx_support.h): tdpbf16ps multiplies a tile of 16 weight rows x 32 inputs by a tile
// of the same 32 inputs of up to 16 activation rows (in pairs) into 16 x n float32 sums: 8192 products in one
// instruction, where AVX512_BF16's vdpbf16ps makes 32. Compiled with -mamx-tile -mamx-bf16 and AVX-512; the
// dispatcher (bf16_gemv.cpp) reaches it only where amx_available(). See bf16_gemv_kernels.h for why this file
// includes no templates from outside.
//
// A weight tile is loaded straight from the row-major weight (16 rows of 64 bytes, `in` * 2 bytes apart), the
// activation tile from x_tiles (bf16_gemv_kernels.h). Each block of 16 weight rows is multiplied by every
// chunk of 16 activation rows while the next block is prefetched. The sums are float32: the product of two
// bfloat16 is exact there, and AMX adds with round-to-nearest-even, flushing denormals to zero (which only
// changes sums below 2^-126). The bias is added in float32 and the total rounded once to bfloat16, as the
// other paths do; the order of the float32 additions differs from theirs.
//
// bf16_gemv_bench (weights from DRAM, 3072 x 1024, 2 threads, a 2-core Xeon with 25 GB/s of stream read):
// AVX512_BF16 / AMX 30 / 32 GB/s at 1 activation row, 26 / 31 at 4, 18 / 30 at 8, 8 / 26 at 16.

#include "model/kernels/avx512_intrinsics.h"
#include "model/kernels/bf16_gemv_kernels.h"

namespace torchllm::kernels {
namespace {

constexpr int kTileRows = 16;
constexpr int kStepInputs = 32;  // bfloat16 inputs per row of a weight tile (64 bytes)

// Palette 1 for n activation rows: tiles 0 and 1 hold sums (16 weight rows x n floats), 4 and 5 weight tiles
// (16 rows x 64 bytes), 6 and 7 activation tiles (16 pair rows x n pairs).
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t bytes_per_row[16] = {};
  uint8_t rows[16] = {};
};

void configure(int n) {
  TileConfig config;
  constexpr int kTiles[] = {0, 1, 4, 5, 6, 7};
  for (const int t : kTiles) {
    config.rows[t] = kTileRows;
    config.bytes_per_row[t] = static_cast<uint16_t>(t == 4 || t == 5 ? 64 : n * 4);
  }
  _tile_loadconfig(&config);
}

// The lines of step s of the 16 weight rows at w (a.in apart) into L1: the next block's, one step with each
// step of this block, so that its loads are in flight while this block multiplies (the hardware prefetcher
// alone followed the 16 rows at 15-21 GB/s where one stream reaches 22-28).
inline void prefetch_step(const uint16_t* w, int64_t in, int64_t s) {
  const char* line = reinterpret_cast<const char*>(w + s * kStepInputs);
  for (int r = 0; r < kTileRows; ++r) _mm_prefetch(line + r * in * 2, _MM_HINT_T0);
}

// float32 to bfloat16 bits as float_to_bf16_bits (bf16_bits.h), 16 at a time: round to nearest even, a NaN to
// 0x7FC0 (vcvtneps2bf16 would flush denormals).
inline __m256i to_bf16_bits(__m512 v) {
  const __m512i bits = _mm512_castps_si512(v);
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  const __m512i rounded =
      _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7fff)), odd), 16);
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(bits, _mm512_set1_epi32(0x7fffffff)),
                                                _mm512_set1_epi32(0x7f800000));
  return _mm512_cvtepi32_epi16(_mm512_mask_mov_epi32(rounded, nan, _mm512_set1_epi32(0x7FC0)));
}

// The sums over the even and odd steps of 16 weight rows from o (sums[r][t]) x n activation rows from t0,
// plus the bias, into y[t0 + t][o .. o + 15]: a transpose, by gathers.
void store_block(const Bf16GemvArgs& a, const float (&sums)[kTileRows][kTileRows],
                 const float (&odd_sums)[kTileRows][kTileRows], int n, int64_t t0, int64_t o) {
  const __m512i column = _mm512_mullo_epi32(
      _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi32(kTileRows));
  const __m512 bias =
      a.bias
          ? _mm512_castsi512_ps(_mm512_slli_epi32(
                _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bias + o))), 16))
          : _mm512_setzero_ps();
  for (int t = 0; t < n; ++t) {
    const __m512i index = _mm512_add_epi32(column, _mm512_set1_epi32(t));
    const __m512 total = _mm512_add_ps(_mm512_add_ps(_mm512_i32gather_ps(index, &sums[0][0], 4),
                                                     _mm512_i32gather_ps(index, &odd_sums[0][0], 4)),
                                       bias);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(a.y + (t0 + t) * a.out + o), to_bf16_bits(total));
  }
}

}  // namespace

void bf16_gemm_amx(const Bf16GemvArgs& a, int64_t out_begin, int64_t out_end) {
  const int64_t steps = a.in / kStepInputs;
  const int64_t stride = a.in * 2;  // bytes between weight rows
  const int64_t chunks = (a.rows + kTileRows - 1) / kTileRows;
  int configured = 0;
  alignas(64) float sums[kTileRows][kTileRows], odd_sums[kTileRows][kTileRows];
  for (int64_t s = 0; s < steps; ++s) prefetch_step(a.weight + out_begin * a.in, a.in, s);
  for (int64_t o = out_begin; o < out_end; o += kTileRows) {
    const uint16_t* w = a.weight + o * a.in;  // [16, in]: the block's rows
    const uint16_t* next = o + kTileRows < out_end ? w + kTileRows * a.in : nullptr;
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t t0 = c * kTileRows;
      const int n = static_cast<int>(a.rows - t0 < kTileRows ? a.rows - t0 : kTileRows);
      if (n != configured) {
        configure(n);
        configured = n;
      }
      const uint16_t* chunk_tiles = a.x_tiles + c * kTileRows * a.in;
      const bool prefetching = next && c == chunks - 1;
      // Even steps through tiles 4, 6 into 0, odd ones through 5, 7 into 1: a tile is not loaded again until
      // the multiplication reading it is done, so one set of tiles would serialize the steps.
      _tile_zero(0);
      _tile_zero(1);
      for (int64_t s = 0; s < steps; s += 2) {
        _tile_loadd(6, chunk_tiles + s * kTileRows * n * 2, n * 4);
        _tile_loadd(4, w + s * kStepInputs, stride);
        _tile_dpbf16ps(0, 4, 6);
        _tile_loadd(7, chunk_tiles + (s + 1) * kTileRows * n * 2, n * 4);
        _tile_loadd(5, w + (s + 1) * kStepInputs, stride);
        _tile_dpbf16ps(1, 5, 7);
        if (prefetching) {
          prefetch_step(next, a.in, s);
          prefetch_step(next, a.in, s + 1);
        }
      }
      _tile_stored(0, sums, 64);
      _tile_stored(1, odd_sums, 64);
      store_block(a, sums, odd_sums, n, t0, o);
    }
  }
  if (configured) _tile_release();
}

}  // namespace torchllm::kernels
