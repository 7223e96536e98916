// AVX-512 VNNI dot products of Q4_K weight rows with a Q8_K token tile (token_tile.h): the 16 tokens sit in
// the 16 int32 lanes, so one dpbusd multiplies four weights of one row, broadcast, into every token at once.
//
// The tile holds a + 128; flipping each byte's sign bit gives back the signed a, which becomes dpbusd's
// signed operand, with the row's nibbles w (0..15, broadcast) as the unsigned one. So the reference's
// integers come out directly, with no offset term (one xor per tile vector, shared by kRows rows):
//   isum = Σ_s sc_s Σ_{i∈s} w_i a_i     the dpbusd sums of each 32-element sub-block, times sc_s
//   imin = Σ_s m_s (sum of the token's sub-block s)     a dpwssd of the tile's sums32
// Each token's float term is then the reference's (d_a * d) * isum - (d_a * dmin) * imin, added in LaneSum's
// order, so out[r][t] is bit for bit dot_q4_k_scalar.
//
// Bounds: |sub-block sum| <= 32 * 15 * 128, |isum| <= 256 * 63 * 15 * 128 < 2^25 and
// |imin| <= 8 * 63 * 32 * 128 < 2^22, so no partial sum leaves int32.

#include "model/kernels/block_dot_avx512_impl.h"
#include "model/kernels/token_tile.h"

namespace torchllm::kernels {
namespace {

// Rows per pass: every tile vector loaded (and sign-flipped) feeds kRows dpbusd, and 2 * kRows dpbusd chains
// are in flight. 8 measured 5-10% faster than 4 or 6 (tile_q8_k + 3072 x 1024, 16 tokens: 210 us against 222
// and 229); 2 * 8 accumulators + 8 sums still fit the 32 registers.
constexpr int kRows = 8;

// One weight row's super-block, unpacked for the tile loop's broadcasts (vpbroadcastd loads: no shuffle).
struct alignas(64) UnpackedQ4K {
  int32_t w[kQK_K / 4];  // the nibbles in element order: elements 4g..4g+3 in the bytes of w[g]
  int32_t scale[8];      // sc_s
  int32_t min[4];        // (m_2j, m_2j+1) as two int16: the multiplier of sums32[j]
};

// nibble_chunk gives each 64-element chunk in element order (sub-block 2c, then 2c + 1).
inline void unpack(const BlockQ4_K& block, UnpackedQ4K& u) {
  const __m256i scales_mins = unpack_scales_mins(block.scales);  // int16: sc_0..7, m_0..7
  _mm256_store_si256(reinterpret_cast<__m256i*>(u.scale),
                     _mm256_cvtepu16_epi32(_mm256_castsi256_si128(scales_mins)));
  _mm_store_si128(reinterpret_cast<__m128i*>(u.min), _mm256_extracti128_si256(scales_mins, 1));
  for (int c = 0; c < 4; ++c) _mm512_store_si512(u.w + 16 * c, nibble_chunk(block.qs + 32 * c));
}

inline __m512i broadcast(const int32_t& v) { return _mm512_set1_epi32(v); }

// R rows (`stride` bytes apart) against the tile's `blocks` super-blocks: out[r * 16 + t].
template <int R>
void dot_rows(const uint8_t* rows, int64_t stride, const TileQ8_K* tile, int64_t blocks, float* out) {
  // LaneSum's eight lanes per row, each for the 16 tokens; lanes that no block reaches stay +0.
  alignas(64) float lanes[R][8][kTileTokens] = {};
  UnpackedQ4K u[R];
  const __m512i sign = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int64_t b = 0; b < blocks; ++b) {
    const TileQ8_K& a = tile[b];
    __m512i isum[R];
    for (int r = 0; r < R; ++r) {
      const uint8_t* row = rows + r * stride;
      unpack(reinterpret_cast<const BlockQ4_K*>(row)[b], u[r]);
      isum[r] = _mm512_setzero_si512();
      // The same block R rows on, for the next pass (as the Q6_K kernel, which measured ~1.5x faster so from
      // DRAM). Prefetches do not fault, so running past the last row is harmless.
      const char* next = reinterpret_cast<const char*>(row + R * stride) + b * sizeof(BlockQ4_K);
      for (int i = 0; i < 3; ++i) _mm_prefetch(next + 64 * i, _MM_HINT_T0);
    }
    // Two sub-blocks at a time: 2R independent dpbusd chains, each tile vector loaded once for R rows.
    for (int s = 0; s < 8; s += 2) {
      __m512i lo[R], hi[R];
      for (int r = 0; r < R; ++r) lo[r] = hi[r] = _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        const int g = 8 * s + i;
        const __m512i a_lo = _mm512_xor_si512(_mm512_loadu_si512(a.qs[g]), sign);
        const __m512i a_hi = _mm512_xor_si512(_mm512_loadu_si512(a.qs[g + 8]), sign);
        for (int r = 0; r < R; ++r) {
          lo[r] = _mm512_dpbusd_epi32(lo[r], broadcast(u[r].w[g]), a_lo);
          hi[r] = _mm512_dpbusd_epi32(hi[r], broadcast(u[r].w[g + 8]), a_hi);
        }
      }
      for (int r = 0; r < R; ++r) {
        isum[r] = _mm512_add_epi32(isum[r], _mm512_mullo_epi32(lo[r], broadcast(u[r].scale[s])));
        isum[r] = _mm512_add_epi32(isum[r], _mm512_mullo_epi32(hi[r], broadcast(u[r].scale[s + 1])));
      }
    }
    __m512i imin[R];
    for (int r = 0; r < R; ++r) imin[r] = _mm512_setzero_si512();
    for (int j = 0; j < 4; ++j) {
      const __m512i sums = _mm512_loadu_si512(a.sums32[j]);
      for (int r = 0; r < R; ++r) imin[r] = _mm512_dpwssd_epi32(imin[r], sums, broadcast(u[r].min[j]));
    }
    // The reference's (d_a * d) * isum - (d_a * dmin) * imin, per token lane.
    const __m512 d_a = _mm512_loadu_ps(a.d);
    for (int r = 0; r < R; ++r) {
      const BlockQ4_K& w = reinterpret_cast<const BlockQ4_K*>(rows + r * stride)[b];
      const __m512 scale = _mm512_mul_ps(d_a, _mm512_set1_ps(half_to_float(w.d)));
      const __m512 min_scale = _mm512_mul_ps(d_a, _mm512_set1_ps(half_to_float(w.dmin)));
      const __m512 term = _mm512_sub_ps(_mm512_mul_ps(scale, _mm512_cvtepi32_ps(isum[r])),
                                        _mm512_mul_ps(min_scale, _mm512_cvtepi32_ps(imin[r])));
      float* lane = lanes[r][b & 7];
      _mm512_store_ps(lane, _mm512_add_ps(_mm512_load_ps(lane), term));
    }
  }
  for (int r = 0; r < R; ++r) {
    const auto l = [&](int i) { return _mm512_load_ps(lanes[r][i]); };
    const __m512 total = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(l(0), l(1)), _mm512_add_ps(l(2), l(3))),
                                       _mm512_add_ps(_mm512_add_ps(l(4), l(5)), _mm512_add_ps(l(6), l(7))));
    _mm512_storeu_ps(out + r * kTileTokens, total);
  }
}

}  // namespace

void dot_tile_q4_k_avx512(const uint8_t* weight_rows, int64_t weight_stride, int64_t rows,
                          const uint8_t* tile, int64_t n, float* out) {
  const auto* t = reinterpret_cast<const TileQ8_K*>(tile);
  const int64_t blocks = n / kQK_K;
  // Passes of kRows rows, then the remainder in passes of 4, 2 and 1.
  int64_t r = 0;
  const auto pass = [&](auto kernel, int64_t count) {
    for (; rows - r >= count; r += count)
      kernel(weight_rows + r * weight_stride, weight_stride, t, blocks, out + r * kTileTokens);
  };
  pass(dot_rows<kRows>, kRows);
  pass(dot_rows<4>, 4);
  pass(dot_rows<2>, 2);
  pass(dot_rows<1>, 1);
}

}  // namespace torchllm::kernels
