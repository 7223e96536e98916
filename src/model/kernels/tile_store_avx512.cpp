// A tile kernel's results (values[j * 16 + t]: row j, token t) stored token-major as bfloat16, sixteen rows
// at a time through a 16 x 16 transpose in registers: the scalar loop read one float per 64-byte stride and
// was ~5% of a 16-token decode step (most of it the 151936-row lm_head). The rounding is float_to_bf16_bits'
// (c10's round to nearest even, NaN -> 0x7FC0), lane by lane.

#include "model/kernels/avx512_intrinsics.h"
#include "model/kernels/bf16_bits.h"
#include "model/kernels/token_tile.h"

namespace torchllm::kernels {
namespace {

// In place: r[i] (16 floats, row i) becomes column i.
inline void transpose16(__m512 (&r)[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  // r[4k + m] now holds, in 128-bit lane L, column 4L + m of rows 4k..4k+3.
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], _MM_SHUFFLE(2, 0, 2, 0));
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], _MM_SHUFFLE(3, 1, 3, 1));
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], _MM_SHUFFLE(2, 0, 2, 0));
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], _MM_SHUFFLE(3, 1, 3, 1));
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], _MM_SHUFFLE(2, 0, 2, 0));
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], _MM_SHUFFLE(3, 1, 3, 1));
    r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], _MM_SHUFFLE(2, 0, 2, 0));
    r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], _MM_SHUFFLE(3, 1, 3, 1));
  }
}

// float_to_bf16_bits on 16 lanes.
inline __m256i to_bf16(__m512 v) {
  const __m512i bits = _mm512_castps_si512(v);
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  const __m512i rounded =
      _mm512_srli_epi32(_mm512_add_epi32(bits, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7fff))), 16);
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(bits, _mm512_set1_epi32(0x7fffffff)),
                                                _mm512_set1_epi32(0x7f800000));
  return _mm512_cvtepi32_epi16(_mm512_mask_mov_epi32(rounded, nan, _mm512_set1_epi32(0x7FC0)));
}

}  // namespace

void store_tile_bf16_avx512(uint16_t* out, int64_t out_stride, const float* values, int64_t rows,
                            int64_t tokens) {
  int64_t j = 0;
  for (; j + 16 <= rows; j += 16) {
    __m512 r[16];
    for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(values + (j + i) * kTileTokens);
    transpose16(r);  // r[t]: token t of rows j..j+15
    for (int64_t t = 0; t < tokens; ++t)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + t * out_stride + j), to_bf16(r[t]));
  }
  for (; j < rows; ++j) {
    for (int64_t t = 0; t < tokens; ++t)
      out[t * out_stride + j] = float_to_bf16_bits(values[j * kTileTokens + t]);
  }
}

}  // namespace torchllm::kernels
