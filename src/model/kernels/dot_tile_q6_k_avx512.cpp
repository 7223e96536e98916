// AVX-512 VNNI dot products of Q6_K weight rows with a Q8_K token tile (token_tile.h): the 16 tokens sit in
// the 16 int32 lanes, so one dpbusd multiplies four weights of one row, broadcast, into every token at once.
//
// The weights are the 6-bit w = q + 32 in 0..63, dpbusd's unsigned operand; the tile's bytes a + 128 become
// the signed a again with one xor per tile vector (shared by the pass's rows), so no per-row correction for
// the tile's offset is needed. The reference's integer
//   Σ_j sc_j Σ_{i∈j} (w_i - 32) a_i = Σ_j sc_j Σ_{i∈j} w_i a_i - 32 Σ_j sc_j bsum_j
// is the dpbusd sums of the 16-element sub-blocks times their scales (mullo), plus a dpwssd of the tile's
// 16-element sums against -32 sc. |Σ_j sc_j Σ w a| <= 16 * 128 * 16 * 63 * 128 < 2^28 and
// |32 Σ_j sc_j bsum_j| < 2^28, so every partial sum is exact in int32. Each token's float term is then the
// reference's (d_a * d) * isum, added in LaneSum's order, so out[r][t] is bit for bit dot_q6_k_scalar.

#include "model/kernels/block_dot_avx512_impl.h"
#include "model/kernels/token_tile.h"

namespace torchllm::kernels {
namespace {

// Rows per pass: each tile vector loaded feeds kRows dpbusd, and kRows independent accumulators cover the
// dpbusd latency (4 cycles at 2 per cycle). 8 measured as fast as 10 and faster than 4, 6 or 12.
constexpr int kRows = 8;

// One weight row's super-block, unpacked for the broadcasts of the tile loop. No alignas: at 356 bytes, the
// rows' buffers start at different offsets within a cache line, so the kRows broadcasts of one step spread
// over the L1 banks (a synthetic loop ran ~8% faster so than with 64-byte-aligned buffers).
struct UnpackedQ6K {
  int32_t w[kQK_K / 4];  // the 6-bit weights, elements 4g..4g+3 in the bytes of w[g]
  int32_t scale[16];     // sc_j, sign-extended
  int32_t offset[8];     // (-32 sc_2p, -32 sc_2p+1) as two int16, against the tile's sums16[p]
  float d;
};

inline void unpack(const BlockQ6_K& block, UnpackedQ6K& u) {
  // q6_k_weights gives the 256 weights in element order: q01[h] and q23[h] are half h's elements 0-63,
  // 64-127. (Its scale vectors, unused here, are dropped by the compiler.)
  const Q6KWeights q = q6_k_weights(block);
  _mm512_storeu_si512(u.w, q.q01[0]);
  _mm512_storeu_si512(u.w + 16, q.q23[0]);
  _mm512_storeu_si512(u.w + 32, q.q01[1]);
  _mm512_storeu_si512(u.w + 48, q.q23[1]);
  const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block.scales));
  _mm512_storeu_si512(u.scale, _mm512_cvtepi8_epi32(sc));
  const __m256i sc16 = _mm256_cvtepi8_epi16(sc);  // -32 * -128 = 4096 fits int16
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(u.offset),
                      _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(sc16, 5)));
  u.d = half_to_float(block.d);
}

// kR rows against the whole tile. lanes[r][l] is row r's LaneSum lane l, one float per token.
template <int kR>
void dot_rows(const uint8_t* weight_rows, int64_t weight_stride, const TileQ8_K* tile, int64_t blocks,
              float* out) {
  const __m512i sign = _mm512_set1_epi8(static_cast<char>(0x80));  // tile byte a + 128 -> a
  UnpackedQ6K u[kR];
  __m512 lanes[kR][8];
  for (int r = 0; r < kR; ++r) {
    for (int l = 0; l < 8; ++l) lanes[r][l] = _mm512_setzero_ps();
  }
  for (int64_t b = 0; b < blocks; ++b) {
    const TileQ8_K& a = tile[b];
    for (int r = 0; r < kR; ++r) {
      const uint8_t* row = weight_rows + r * weight_stride;
      unpack(reinterpret_cast<const BlockQ6_K*>(row)[b], u[r]);
      // Prefetch the same block kR rows on, for the next pass: ~1.5x faster on a 151936 x 1024 matrix from
      // DRAM, no change from L3. Prefetches do not fault, so running past the last row is harmless.
      const uint8_t* next = row + kR * weight_stride + b * static_cast<int64_t>(sizeof(BlockQ6_K));
      for (int i = 0; i < 4; ++i) _mm_prefetch(reinterpret_cast<const char*>(next) + 64 * i, _MM_HINT_T0);
    }
    __m512i isum[kR];
    for (int r = 0; r < kR; ++r) isum[r] = _mm512_setzero_si512();
    for (int j = 0; j < 16; ++j) {
      __m512i acc[kR];
      for (int r = 0; r < kR; ++r) acc[r] = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int g = 0; g < 4; ++g) {
        const __m512i q = _mm512_xor_si512(_mm512_loadu_si512(a.qs[4 * j + g]), sign);
        for (int r = 0; r < kR; ++r)
          acc[r] = _mm512_dpbusd_epi32(acc[r], _mm512_set1_epi32(u[r].w[4 * j + g]), q);
      }
      for (int r = 0; r < kR; ++r) {
        isum[r] = _mm512_add_epi32(isum[r], _mm512_mullo_epi32(acc[r], _mm512_set1_epi32(u[r].scale[j])));
      }
    }
    for (int p = 0; p < 8; ++p) {
      const __m512i sums = _mm512_loadu_si512(a.sums16[p]);
      for (int r = 0; r < kR; ++r)
        isum[r] = _mm512_dpwssd_epi32(isum[r], sums, _mm512_set1_epi32(u[r].offset[p]));
    }
    const __m512 d_a = _mm512_loadu_ps(a.d);
    for (int r = 0; r < kR; ++r) {
      const __m512 term =
          _mm512_mul_ps(_mm512_mul_ps(d_a, _mm512_set1_ps(u[r].d)), _mm512_cvtepi32_ps(isum[r]));
      lanes[r][b & 7] = _mm512_add_ps(lanes[r][b & 7], term);
    }
  }
  for (int r = 0; r < kR; ++r) {
    const __m512* l = lanes[r];
    const __m512 total = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(l[0], l[1]), _mm512_add_ps(l[2], l[3])),
                                       _mm512_add_ps(_mm512_add_ps(l[4], l[5]), _mm512_add_ps(l[6], l[7])));
    _mm512_storeu_ps(out + r * kTileTokens, total);
  }
}

// Passes of kR rows, then the rest in passes of kR / 2, kR / 4, ..., 1.
template <int kR>
void dot_all_rows(const uint8_t* weight_rows, int64_t weight_stride, int64_t rows, const TileQ8_K* tile,
                  int64_t blocks, float* out) {
  int64_t r = 0;
  for (; r + kR <= rows; r += kR) {
    dot_rows<kR>(weight_rows + r * weight_stride, weight_stride, tile, blocks, out + r * kTileTokens);
  }
  if constexpr (kR > 1) {
    dot_all_rows<kR / 2>(weight_rows + r * weight_stride, weight_stride, rows - r, tile, blocks,
                         out + r * kTileTokens);
  }
}

}  // namespace

void dot_tile_q6_k_avx512(const uint8_t* weight_rows, int64_t weight_stride, int64_t rows,
                          const uint8_t* tile, int64_t n, float* out) {
  dot_all_rows<kRows>(weight_rows, weight_stride, rows, reinterpret_cast<const TileQ8_K*>(tile), n / kQK_K,
                      out);
}

}  // namespace torchllm::kernels
