#pragma once

// The helpers that reduce four blocks x four vectors together (tokens in block_dot_many_avx512.cpp, weight
// rows in block_dot_rows_avx512.cpp): each (block, vector) pair leaves a 16-lane integer vector whose lanes
// add up to its exact sum, and four levels of `combine` turn 16 such vectors into one whose lane 4v + i is
// the total of vector v's block i. Each level costs one two-source permute, one blend and one add for 16
// lanes, where reducing every vector on its own took several shuffles. Internal linkage, as
// block_dot_avx512_impl.h explains; included only by AVX-512 files, after it.

#include "model/kernels/block_dot_avx512_impl.h"

namespace torchllm::kernels {
namespace {

// Lanes with bit kUnit clear: a's lane plus a's lane ^ kUnit; lanes with it set: the same of b.
template <int kUnit>
inline __m512i combine(__m512i a, __m512i b) {
#define TORCHLLM_PARTNER(j) ((((j)&kUnit) ? 16 : 0) + ((j) ^ kUnit))
  const __m512i partner =
      _mm512_set_epi32(TORCHLLM_PARTNER(15), TORCHLLM_PARTNER(14), TORCHLLM_PARTNER(13), TORCHLLM_PARTNER(12),
                       TORCHLLM_PARTNER(11), TORCHLLM_PARTNER(10), TORCHLLM_PARTNER(9), TORCHLLM_PARTNER(8),
                       TORCHLLM_PARTNER(7), TORCHLLM_PARTNER(6), TORCHLLM_PARTNER(5), TORCHLLM_PARTNER(4),
                       TORCHLLM_PARTNER(3), TORCHLLM_PARTNER(2), TORCHLLM_PARTNER(1), TORCHLLM_PARTNER(0));
#undef TORCHLLM_PARTNER
  constexpr __mmask16 kFromB = kUnit == 1 ? 0xAAAA : kUnit == 2 ? 0xCCCC : kUnit == 4 ? 0xF0F0 : 0xFF00;
  return _mm512_add_epi32(_mm512_mask_blend_epi32(kFromB, a, b), _mm512_permutex2var_epi32(a, partner, b));
}

// Four vectors of one block (four tokens' or four rows') -> lanes 4v + i (any i) hold partial sums of v.
inline __m512i combine_quad(__m512i v0, __m512i v1, __m512i v2, __m512i v3) {
  return combine<8>(combine<4>(v0, v1), combine<4>(v2, v3));
}

// Word indices for vpermw that give every 32-bit lane of 128-bit lane k the words (lo_k, hi_k).
inline __m512i word_pairs(int lo0, int hi0, int lo1, int hi1, int lo2, int hi2, int lo3, int hi3) {
  const auto pair = [](int lo, int hi) {
    return static_cast<long long>((static_cast<uint64_t>(hi) << 16 | static_cast<uint64_t>(lo)) *
                                  0x0000000100000001ULL);
  };
  return _mm512_set_epi64(pair(lo3, hi3), pair(lo3, hi3), pair(lo2, hi2), pair(lo2, hi2), pair(lo1, hi1),
                          pair(lo1, hi1), pair(lo0, hi0), pair(lo0, hi0));
}

// dpbusd's sums of four products fit int16 for every K format (|4 * 63 * 128| < 2^15), so two of them share
// a 32-bit lane as words (lo in the low word, hi in the high one), and madd/dpwssd by word-paired scales
// applies both scales: a shift and a blend, where packs would take the shuffle unit (measured ~10% slower).
inline __m512i word_pair_products(__m512i u_lo, const int8_t* a_lo, __m512i u_hi, const int8_t* a_hi) {
  const __m512i lo = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u_lo,
                                         _mm512_loadu_si512(reinterpret_cast<const void*>(a_lo)));
  const __m512i hi = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u_hi,
                                         _mm512_loadu_si512(reinterpret_cast<const void*>(a_hi)));
  return _mm512_mask_blend_epi16(0xAAAAAAAA, lo, _mm512_slli_epi32(hi, 16));
}

// Four blocks' floats (block i in lane i of the low 128 bits) in lane 4v + i for every v.
inline __m512 per_block(__m512 four) {
  return _mm512_permutexvar_ps(_mm512_set_epi32(3, 2, 1, 0, 3, 2, 1, 0, 3, 2, 1, 0, 3, 2, 1, 0), four);
}

// Quad accumulators (lane 4v + i of acc[g][half]: vector 4g + v's Lanes lane 4 * half + i) -> Lanes.
template <int kG>
inline void quad_lanes(const __m512 acc[kG][2], Lanes* sum) {
  for (int g = 0; g < kG; ++g) {
    alignas(64) float lane[2][16];
    _mm512_store_ps(lane[0], acc[g][0]);
    _mm512_store_ps(lane[1], acc[g][1]);
    for (int t = 0; t < 4; ++t) {
      for (int i = 0; i < 4; ++i) {
        sum[4 * g + t].lane[i] = lane[0][4 * t + i];
        sum[4 * g + t].lane[4 + i] = lane[1][4 * t + i];
      }
    }
  }
}

// A Q4_K/Q5_K super-block unpacked for word_pair_products: q as ScaledMinWeights, s01 the scales of
// (chunk 0, chunk 1) word pairs and s23 of (chunk 2, chunk 3), mins as ScaledMinWeights' in both halves.
struct ScaledMinBlock {
  __m512i q[4];
  __m512i s01, s23;
  __m512i mins;
};

template <typename BlockW, ScaledMinWeights (*unpack)(const BlockW&)>
inline ScaledMinBlock scaled_min_block(const BlockW& w) {
  const ScaledMinWeights u = unpack(w);
  ScaledMinBlock r;
  for (int c = 0; c < 4; ++c) r.q[c] = u.q[c];
  // Chunk c's lanes 0-7 belong to sub-block 2c, lanes 8-15 to 2c + 1.
  const __m512i sm = _mm512_castsi256_si512(unpack_scales_mins(w.scales));
  r.s01 = _mm512_permutexvar_epi16(word_pairs(0, 2, 0, 2, 1, 3, 1, 3), sm);
  r.s23 = _mm512_permutexvar_epi16(word_pairs(4, 6, 4, 6, 5, 7, 5, 7), sm);
  r.mins = _mm512_broadcast_i64x4(u.mins);
  return r;
}

// 16 lanes adding up to the super-block's Σ scale * q * a.
inline __m512i scaled_sum(const ScaledMinBlock& w, const BlockQ8_K& a) {
  const __m512i x01 = word_pair_products(w.q[0], a.qs, w.q[1], a.qs + 64);
  const __m512i x23 = word_pair_products(w.q[2], a.qs + 128, w.q[3], a.qs + 192);
  return _mm512_dpwssd_epi32(_mm512_madd_epi16(x01, w.s01), x23, w.s23);
}

// A Q6_K super-block unpacked for word_pair_products: per half, the scales of (quarters 0-1, quarters 2-3)
// word pairs, and -32 times the scales (|32 * scale| <= 4096 fits int16) against bsums.
struct Q6KBlock {
  __m512i q01[2], q23[2];
  __m512i sc[2];
  __m256i offset_scales;
};

inline Q6KBlock q6_k_block(const BlockQ6_K& w) {
  const Q6KWeights u = q6_k_weights(w);
  Q6KBlock r;
  const __m512i sc = _mm512_castsi256_si512(u.scales);
  for (int half = 0; half < 2; ++half) {
    r.q01[half] = u.q01[half];
    r.q23[half] = u.q23[half];
    // 128-bit lane k of quarters 0-1 is sub-block 8 * half + k, of quarters 2-3 8 * half + 4 + k.
    const int s = 8 * half;
    r.sc[half] = _mm512_permutexvar_epi16(word_pairs(s, s + 4, s + 1, s + 5, s + 2, s + 6, s + 3, s + 7), sc);
  }
  r.offset_scales = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(u.scales, 5));
  return r;
}

// 16 lanes adding up to the super-block's Σ_j sc_j Σ (q - 32) a, as q6_k_integers.
inline __m512i q6_k_sum(const Q6KBlock& w, const BlockQ8_K& a) {
  __m512i total = _mm512_zextsi256_si512(
      _mm256_madd_epi16(w.offset_scales, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums))));
  for (int half = 0; half < 2; ++half) {
    const int8_t* act = a.qs + 128 * half;
    total =
        _mm512_dpwssd_epi32(total, word_pair_products(w.q01[half], act, w.q23[half], act + 64), w.sc[half]);
  }
  return total;
}

}  // namespace
}  // namespace torchllm::kernels
