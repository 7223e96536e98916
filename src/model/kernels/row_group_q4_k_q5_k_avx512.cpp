// AVX-512 VNNI dot products of Q4_K and Q5_K row groups (row_groups.h) with Q8_K activations: the group's 16
// rows sit in the 16 int32 lanes, so one dpbusd multiplies four quants of every row (unsigned operand: Q4_K's
// nibbles, Q5_K's with their fifth bits) by the same four activation bytes of one token (signed operand, a
// 32-bit broadcast from memory).
//
// Per super-block and token, as the scalar reference (k_quant_dot_scalar.cpp), in every row lane:
//   isum = Σ_j sc_j · dot_j   the 8 sub-blocks' dpbusd sums times their scales (vpmulld)
//   imin = Σ_j m_j · s_j, s_j = bsums[2j] + bsums[2j+1]   one dpwssd per (m_2k, m_2k+1) · (s_2k, s_2k+1)
//   term = (d_a * d) * isum - (d_a * dmin) * imin   separate multiplies and a subtraction, no FMA
// and the terms are added in LaneSum's order (block b to lane b % 8, lanes added pairwise at the end), so
// every output is bit for bit dot_q4_k_scalar or dot_q5_k_scalar. Bounds: |dot_j| <= 32 * 31 * 128,
// |isum| < 2^26, |imin| < 2^22: no int32 sum overflows.
//
// Loop order (row_group_avx512.h): token batches, groups, super-blocks (2368 bytes of Q4_K, 2880 of Q5_K),
// chunks of up to 8 tokens.

#include <cstddef>
#include <type_traits>

#include "model/kernels/row_group_avx512.h"

namespace torchllm::kernels {
namespace {

// The super-block's per-row factors, shared by every token.
struct BlockFactors {
  __m512i scale[8];     // sc_j as int32
  __m512i min_pair[4];  // (m_2k, m_2k+1) as two int16 per lane: dpwssd's multiplier of (s_2k, s_2k+1)
  __m512 d, dmin;
};

// The super-block kPrefetchDistance on (the next groups' past the last: the model's next call reads them),
// which the hardware prefetcher alone does not fetch in time from DRAM: 1.5-2.3x at 1 token, 1.9x at 16 on a
// matrix of 85 MB (row_group_bench --dram); 2 or 8 ahead measured slower. Its lines are prefetched one with
// each weight vector load (the header's with the factors), spread over the super-block's work: all 37 at once
// stalled on the line fill buffers. Qwen3-0.6B Q4_K_M decode (bench -p 64 -n 64 -r 3, 2-core Xeon, medians
// of 6 interleaved runs): 4 sequences 174 -> 195 tok/s, 1 sequence 63 -> 67.
constexpr int kPrefetchDistance = 4;

template <typename Block>
inline void prefetch_ahead(const void* line) {
  _mm_prefetch(static_cast<const char*>(line) + kPrefetchDistance * sizeof(Block), _MM_HINT_T0);
}

template <typename Block>
inline BlockFactors block_factors(const Block& w) {
  const char* header = reinterpret_cast<const char*>(&w);
  for (size_t l = 0; l < offsetof(Block, qs); l += 64) prefetch_ahead<Block>(header + l);
  BlockFactors f;
  for (int j = 0; j < 8; ++j) {
    f.scale[j] = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales[j])));
  }
  for (int k = 0; k < 4; ++k) {
    const auto mins = [&](int j) {
      return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.mins[j])));
    };
    f.min_pair[k] = _mm512_or_si512(mins(2 * k), _mm512_slli_epi32(mins(2 * k + 1), 16));
  }
  f.d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.d)));
  f.dmin = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.dmin)));
  return f;
}

inline __m512i dpwssd_broadcast(__m512i acc, __m512i w, const int32_t* p) {
  asm("vpdpwssd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*p));
  return acc;
}

// A token's 32-element sub-block sums s_j = bsums[2j] + bsums[2j+1] as int16 pairs (s_2k, s_2k+1), k = 0..3.
// A Q8_K block's bsums are sums of 16 int8, so |s_j| <= 4096 and the int16 packing is exact.
inline void sub_block_sum_pairs(const BlockQ8_K& a, int32_t* pairs) {
  const __m256i sums =
      _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums)), _mm256_set1_epi16(1));
  _mm_store_si128(reinterpret_cast<__m128i*>(pairs),
                  _mm_packs_epi32(_mm256_castsi256_si128(sums), _mm256_extracti128_si256(sums, 1)));
}

// Q5_K's fifth bits of chunk c, group i, in bit 4 of each byte: sub-block 2c's (`high` false) from bit 2c of
// qh, 2c + 1's from bit 2c + 1. A 16-bit shift moves no bit 4 across a byte (|shift| <= 4).
template <bool high>
inline __m512i fifth_bits(__m512i qh, int c) {
  const int shift = 4 - 2 * c - (high ? 1 : 0);  // left if positive
  const __m512i moved = shift >= 0 ? _mm512_sll_epi16(qh, _mm_cvtsi32_si128(shift))
                                   : _mm512_srl_epi16(qh, _mm_cvtsi32_si128(-shift));
  return _mm512_and_si512(moved, _mm512_set1_epi8(0x10));
}

// K tokens (BlockQ8_K super-block b at a + t * stride) against one super-block of the group: each token's
// term added to its lane b % 8.
template <typename Block, int K>
void dot_chunk(const Block& w, const BlockFactors& f, const uint8_t* a, int64_t stride, int64_t b,
               Lanes16* lanes) {
  constexpr bool kFifthBits = std::is_same_v<Block, BlockQ5_Kx16>;
  // Independent dpbusd chains per sub-block and token, so that few tokens still keep ~8 chains in flight.
  constexpr int P = K == 1 ? 4 : K < 4 ? 2 : 1;
  const BlockQ8_K* act[K];
#pragma GCC unroll 8
  for (int t = 0; t < K; ++t) act[t] = reinterpret_cast<const BlockQ8_K*>(a + t * stride) + b;
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  __m512i isum[K];
#pragma GCC unroll 8
  for (int t = 0; t < K; ++t) isum[t] = _mm512_setzero_si512();
  for (int c = 0; c < 4; ++c) {
    __m512i lo[P][K], hi[P][K];  // sub-blocks 2c and 2c + 1
    for (int p = 0; p < P; ++p) {
#pragma GCC unroll 8
      for (int t = 0; t < K; ++t) lo[p][t] = hi[p][t] = _mm512_setzero_si512();
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
      prefetch_ahead<Block>(w.qs[c][i]);
      const __m512i q = _mm512_loadu_si512(w.qs[c][i]);
      __m512i q_lo = _mm512_and_si512(q, low4);
      __m512i q_hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), low4);
      if constexpr (kFifthBits) {
        if (c == 0) prefetch_ahead<Block>(w.qh[i]);
        const __m512i qh = _mm512_loadu_si512(w.qh[i]);
        q_lo = _mm512_or_si512(q_lo, fifth_bits<false>(qh, c));
        q_hi = _mm512_or_si512(q_hi, fifth_bits<true>(qh, c));
      }
#pragma GCC unroll 8
      for (int t = 0; t < K; ++t) {
        lo[i % P][t] = dpbusd_broadcast(lo[i % P][t], q_lo, act[t]->qs + 64 * c + 4 * i);
        hi[i % P][t] = dpbusd_broadcast(hi[i % P][t], q_hi, act[t]->qs + 64 * c + 32 + 4 * i);
      }
      if constexpr (!kFifthBits && P == 1) {
        if (i == 3) {  // the sub-blocks' first halves: scaled now, while their sums fit int16
#pragma GCC unroll 8
          for (int t = 0; t < K; ++t) {
            isum[t] = _mm512_dpwssd_epi32(isum[t], lo[0][t], f.scale[2 * c]);
            isum[t] = _mm512_dpwssd_epi32(isum[t], hi[0][t], f.scale[2 * c + 1]);
            lo[0][t] = hi[0][t] = _mm512_setzero_si512();
          }
        }
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < K; ++t) {
      if constexpr (!kFifthBits) {
        // Each chain summed at most 16 products of q <= 15 and |a| <= 127 (Q8_K never holds -128): at most
        // 30480 in magnitude, so the lane's low int16 is the sum and its high one its sign, and dpwssd with
        // the lane's scale (sc_j, 0) as int16 adds exactly sc_j * sum: one instruction for vpmulld's two and
        // the add.
        for (int p = 0; p < P; ++p) {
          isum[t] = _mm512_dpwssd_epi32(isum[t], lo[p][t], f.scale[2 * c]);
          isum[t] = _mm512_dpwssd_epi32(isum[t], hi[p][t], f.scale[2 * c + 1]);
        }
      } else {
        for (int p = 1; p < P; ++p) {
          lo[0][t] = _mm512_add_epi32(lo[0][t], lo[p][t]);
          hi[0][t] = _mm512_add_epi32(hi[0][t], hi[p][t]);
        }
        isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(lo[0][t], f.scale[2 * c]));
        isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(hi[0][t], f.scale[2 * c + 1]));
      }
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < K; ++t) {
    alignas(16) int32_t pairs[4];
    sub_block_sum_pairs(*act[t], pairs);
    __m512i imin = _mm512_setzero_si512();
    for (int k = 0; k < 4; ++k) imin = dpwssd_broadcast(imin, f.min_pair[k], pairs + k);
    const __m512 d_a = _mm512_set1_ps(act[t]->d);
    const __m512 scale = _mm512_mul_ps(d_a, f.d);
    const __m512 min_scale = _mm512_mul_ps(d_a, f.dmin);
    const __m512 term = _mm512_sub_ps(_mm512_mul_ps(scale, _mm512_cvtepi32_ps(isum[t])),
                                      _mm512_mul_ps(min_scale, _mm512_cvtepi32_ps(imin)));
    lanes[t].add(b, term);
  }
}

template <typename Block>
constexpr DotChunkFn<Block, BlockFactors> kDotChunk[kMaxChunk + 1] = {nullptr,
                                                                      dot_chunk<Block, 1>,
                                                                      dot_chunk<Block, 2>,
                                                                      dot_chunk<Block, 3>,
                                                                      dot_chunk<Block, 4>,
                                                                      dot_chunk<Block, 5>,
                                                                      dot_chunk<Block, 6>,
                                                                      dot_chunk<Block, 7>,
                                                                      dot_chunk<Block, 8>};

}  // namespace

void row_group_dot_q4_k_avx512(const uint8_t* groups, int64_t group_count, const uint8_t* activations,
                               int64_t activation_stride, int64_t tokens, int64_t n, float* out,
                               int64_t out_stride) {
  dot_row_groups<BlockQ4_Kx16, BlockFactors, block_factors<BlockQ4_Kx16>>(
      kDotChunk<BlockQ4_Kx16>, groups, group_count, activations, activation_stride, tokens, n, out,
      out_stride);
}

void row_group_dot_q5_k_avx512(const uint8_t* groups, int64_t group_count, const uint8_t* activations,
                               int64_t activation_stride, int64_t tokens, int64_t n, float* out,
                               int64_t out_stride) {
  dot_row_groups<BlockQ5_Kx16, BlockFactors, block_factors<BlockQ5_Kx16>>(
      kDotChunk<BlockQ5_Kx16>, groups, group_count, activations, activation_stride, tokens, n, out,
      out_stride);
}

}  // namespace torchllm::kernels
