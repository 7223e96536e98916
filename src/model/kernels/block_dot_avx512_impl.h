#pragma once

// The helpers of the AVX-512 block dot products (block_dot_avx512.cpp, one token; block_dot_many_avx512.cpp,
// several), included only by those files and compiled there with AVX-512. Everything here has internal
// linkage and uses no inline function or template from another header (LaneSum, fp16_to_fp32): an
// out-of-line copy compiled with AVX-512 could be the one the linker keeps for the whole program and then run
// on a CPU without it. Lanes mirrors LaneSum, and F16C's conversion gives the same float as fp16_to_fp32 for
// every finite half (the tests cover subnormals).

#include <cstdint>
#include <cstring>

#include "model/kernels/avx512_intrinsics.h"
#include "model/kernels/block_layouts.h"

namespace torchllm::kernels {
namespace {

// LaneSum (block_dot.h), kept local to the AVX-512 files: block b's term goes to lane b % 8, lanes added
// pairwise.
struct Lanes {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  void add(int64_t block, float term) { lane[block & 7] += term; }
  float total() const {
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
  }
};

inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

// ---- 32-element formats ----
//
// Two blocks share a 512-bit register (block 2i in the low 256 bits, 2i+1 in the high ones); every eight
// blocks, a shuffle tree turns the four partial-sum registers into one 8-lane vector of the blocks' exact
// sums (block i in lane i), whose float terms join the lane accumulator as in the AVX2 kernels.

inline __m512i load_pair(const int8_t* first, const int8_t* second) {
  return _mm512_inserti64x4(
      _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(first))),
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(second)), 1);
}

// Two blocks' 32 elements from their 16 nibble bytes each: elements 0..15 the low nibbles, 16..31 the high.
inline __m512i nibble_pair(const uint8_t* first, const uint8_t* second) {
  const __m256i both = _mm256_inserti128_si256(
      _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(first))),
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(second)), 1);
  const __m512i doubled = _mm512_shuffle_i64x2(_mm512_castsi256_si512(both), _mm512_castsi256_si512(both),
                                               _MM_SHUFFLE(1, 1, 0, 0));
  const __m512i shifts = _mm512_set_epi64(0x0004000400040004, 0x0004000400040004, 0, 0, 0x0004000400040004,
                                          0x0004000400040004, 0, 0);
  return _mm512_and_si512(_mm512_srlv_epi16(doubled, shifts), _mm512_set1_epi8(0x0F));
}

// The fifth bits of two blocks (bit j of qh = element j) as a 64-bit byte mask matching nibble_pair.
inline __mmask64 high_bits_pair(const uint8_t* first, const uint8_t* second) {
  uint32_t lo, hi;
  std::memcpy(&lo, first, sizeof lo);
  std::memcpy(&hi, second, sizeof hi);
  return _cvtu64_mask64(lo | (static_cast<uint64_t>(hi) << 32));
}

// Σ (u - offset) * a per group of four bytes, exact: dpbusd(u, a) - dpbusd(offset, a).
template <int kOffset>
inline __m512i offset_products(__m512i u, __m512i a) {
  const __m512i products = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, a);
  if constexpr (kOffset == 0) {
    return products;
  } else {
    return _mm512_sub_epi32(products,
                            _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(kOffset), a));
  }
}

// Four pair registers (blocks 0..7) -> the eight blocks' sums, block i in lane i (integer adds: exact).
inline __m256i block_sums(const __m512i p[4]) {
  // 128-bit lane k of s03 holds four partial sums of block k, of s47 those of block 4 + k.
  const __m512i s03 = _mm512_add_epi32(_mm512_shuffle_i64x2(p[0], p[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                       _mm512_shuffle_i64x2(p[0], p[1], _MM_SHUFFLE(3, 1, 3, 1)));
  const __m512i s47 = _mm512_add_epi32(_mm512_shuffle_i64x2(p[2], p[3], _MM_SHUFFLE(2, 0, 2, 0)),
                                       _mm512_shuffle_i64x2(p[2], p[3], _MM_SHUFFLE(3, 1, 3, 1)));
  // lane k: [x0 + x2, y0 + y2, x1 + x3, y1 + y3] for x = block k, y = block 4 + k
  const __m512i t = _mm512_add_epi32(_mm512_unpacklo_epi32(s03, s47), _mm512_unpackhi_epi32(s03, s47));
  // lane k: [X, Y, X, Y]
  const __m512i u = _mm512_add_epi32(t, _mm512_shuffle_epi32(t, _MM_PERM_BADC));
  const __m512i order = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 13, 9, 5, 1, 12, 8, 4, 0);
  return _mm512_castsi512_si256(_mm512_permutexvar_epi32(order, u));
}

inline int horizontal_sum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// The row loop shared by every 32-element format. `partials(w0, a0, w1, a1)` gives two blocks' partial-sum

// Each 32-element format's weights: `pair(w0, w1)` gives two blocks' elements as unsigned bytes
// (nibble_pair's layout), which are the stored value plus kOffset.
struct Q8_0Weights {
  using Block = BlockQ8_0;
  using Activation = BlockQ8_0;
  static constexpr int kOffset = 128;
  static constexpr bool kHasMin = false;
  // w + 128 as an unsigned byte is w with its sign bit flipped.
  static __m512i pair(const Block& w0, const Block& w1) {
    return _mm512_xor_si512(load_pair(w0.qs, w1.qs), _mm512_set1_epi8(static_cast<char>(0x80)));
  }
};
struct Q4_0Weights {
  using Block = BlockQ4_0;
  using Activation = BlockQ8_0;
  static constexpr int kOffset = 8;
  static constexpr bool kHasMin = false;
  static __m512i pair(const Block& w0, const Block& w1) { return nibble_pair(w0.qs, w1.qs); }
};
struct Q5_0Weights {
  using Block = BlockQ5_0;
  using Activation = BlockQ8_0;
  static constexpr int kOffset = 16;
  static constexpr bool kHasMin = false;
  static __m512i pair(const Block& w0, const Block& w1) {
    const __m512i q = nibble_pair(w0.qs, w1.qs);
    return _mm512_mask_add_epi8(q, high_bits_pair(w0.qh, w1.qh), q, _mm512_set1_epi8(0x10));
  }
};
struct Q4_1Weights {
  using Block = BlockQ4_1;
  using Activation = BlockQ8_1;
  static constexpr int kOffset = 0;
  static constexpr bool kHasMin = true;
  static __m512i pair(const Block& w0, const Block& w1) { return nibble_pair(w0.qs, w1.qs); }
};
struct Q5_1Weights {
  using Block = BlockQ5_1;
  using Activation = BlockQ8_1;
  static constexpr int kOffset = 0;
  static constexpr bool kHasMin = true;
  static __m512i pair(const Block& w0, const Block& w1) {
    const __m512i q = nibble_pair(w0.qs, w1.qs);
    return _mm512_mask_add_epi8(q, high_bits_pair(w0.qh, w1.qh), q, _mm512_set1_epi8(0x10));
  }
};

// Eight blocks' fp16 fields (d, m or s) as floats, block i in lane i.
template <typename Block, typename Field>
inline __m256 halves8(const Block* blocks, Field field) {
  alignas(16) uint16_t h[8];
  for (int i = 0; i < 8; ++i) h[i] = field(blocks[i]);
  return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(h)));
}

// madd (or dpwssd) multiplies them by their sub-block scales and adds pairs into int32 (exact: the
// super-block's total fits int32, as in the reference). The float terms are formed with the reference's
// multiplies and subtraction (no FMA) and added in LaneSum's order; Q4_K and Q5_K reduce four super-blocks'
// integers at a time (see scaled_min_terms4), Q6_K one at a time.

// [total of isum's eight lanes, total of imin's four lanes, the same two again].
inline __m128i two_totals(__m256i isum, __m128i imin) {
  const __m128i halves = _mm_add_epi32(_mm256_castsi256_si128(isum), _mm256_extracti128_si256(isum, 1));
  const __m128i pairs = _mm_hadd_epi32(halves, imin);
  return _mm_hadd_epi32(pairs, pairs);
}

inline __m256i fold(__m512i v) {
  return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}

// The reference's (d_a * d) * isum - (d_a * dmin) * imin: lanes 0 and 1 carry the two products through the
// same single-precision roundings.
inline float scaled_min_term(float d_a, uint16_t d, uint16_t dmin, __m256i isum, __m128i imin) {
  const __m128i halfs = _mm_cvtsi32_si128(static_cast<int>(d | (static_cast<uint32_t>(dmin) << 16)));
  const __m128 scales = _mm_mul_ps(_mm_set1_ps(d_a), _mm_cvtph_ps(halfs));
  const __m128 products = _mm_mul_ps(scales, _mm_cvtepi32_ps(two_totals(isum, imin)));
  return _mm_cvtss_f32(_mm_sub_ss(products, _mm_movehdup_ps(products)));
}

// The reference's (d_a * d) * isum.
inline float scaled_term(float d_a, uint16_t d, __m256i isum) {
  const float scale = d_a * _cvtsh_ss(d);
  return scale * static_cast<float>(horizontal_sum(isum));
}

// The 12 packed scale/min bytes as 16 int16: scales of sub-blocks 0..7, then mins (get_scale_min_k4 on
// 32-bit words).
inline __m256i unpack_scales_mins(const uint8_t* packed) {
  // 16 bytes from the 12 packed ones: the 4 after them are the block's first quants, inside the block.
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(packed));
  const __m128i low = _mm_and_si128(x, _mm_set1_epi32(0x3f3f3f3f));  // scales 0..3, mins 0..3
  const __m128i nibbles =
      _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(x, _MM_SHUFFLE(2, 2, 2, 2)), _mm_set_epi32(4, 0, 0, 0)),
                    _mm_set1_epi32(0x0f0f0f0f));
  const __m128i top2 = _mm_and_si128(_mm_srli_epi32(_mm_shuffle_epi32(x, _MM_SHUFFLE(1, 0, 1, 0)), 2),
                                     _mm_set1_epi32(0x30303030));
  // [scales 0..3, mins 0..3, scales 4..7, mins 4..7]
  const __m128i words = _mm_blend_epi32(low, _mm_or_si128(nibbles, top2), 0xC);
  return _mm256_cvtepu8_epi16(_mm_shuffle_epi32(words, _MM_SHUFFLE(3, 1, 2, 0)));
}

// Word indices for vpermw that give, per 128-bit lane k, four copies of scale `lo[k]` then four of `hi[k]`.
inline __m512i scale_index(int lo0, int hi0, int lo1, int hi1, int lo2, int hi2, int lo3, int hi3) {
  return _mm512_set_epi64(hi3 * 0x0001000100010001LL, lo3 * 0x0001000100010001LL, hi2 * 0x0001000100010001LL,
                          lo2 * 0x0001000100010001LL, hi1 * 0x0001000100010001LL, lo1 * 0x0001000100010001LL,
                          hi0 * 0x0001000100010001LL, lo0 * 0x0001000100010001LL);
}

// The integers of a Q4_K/Q5_K super-block: isum's 16 lanes add up to Σ scale * q * a, imin's 4 lanes to
// Σ min * (sub-block activation sum).
struct ScaledMinIntegers {
  __m512i isum;
  __m128i imin;
};

// A Q4_K/Q5_K super-block's weights, unpacked: the four 64-element chunks' unsigned weights (chunk c: low
// 256 bits sub-block 2c, high 256 bits sub-block 2c + 1, matching a[64c .. 64c + 63]) and the scales and
// mins placed where scaled_min_integers needs them.
struct ScaledMinWeights {
  __m512i q[4];
  __m512i s01, s23;  // the sub-block scales in the lanes of packs(d[0], d[1]) and packs(d[2], d[3])
  __m256i mins;      // min_j twice, against 16-element activation sums 2j and 2j + 1
};

inline ScaledMinWeights scaled_min_weights(__m256i scales_mins) {
  ScaledMinWeights w;
  // packs(d[0], d[1]) lane k: four sums of d[0]'s lane k, then four of d[1]'s; d[c]'s lanes 0-1 belong to
  // sub-block 2c, lanes 2-3 to 2c + 1.
  const __m512i sm = _mm512_castsi256_si512(scales_mins);
  w.s01 = _mm512_permutexvar_epi16(scale_index(0, 2, 0, 2, 1, 3, 1, 3), sm);
  w.s23 = _mm512_permutexvar_epi16(scale_index(4, 6, 4, 6, 5, 7, 5, 7), sm);
  const __m256i index = _mm256_set_epi16(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8);
  w.mins = _mm256_permutexvar_epi16(index, scales_mins);
  return w;
}

// Σ_i q_i * a_i * scale(i) and Σ_j min_j * (activation sum of 32-element sub-block j) over a super-block.
inline ScaledMinIntegers scaled_min_integers(const ScaledMinWeights& w, const BlockQ8_K& a) {
  __m512i d[4];
  for (int c = 0; c < 4; ++c) {
    d[c] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w.q[c],
                               _mm512_loadu_si512(reinterpret_cast<const void*>(a.qs + 64 * c)));
  }
  // Two independent products, added: shorter than chaining the second dpwssd on the first.
  const __m512i isum = _mm512_add_epi32(_mm512_madd_epi16(_mm512_packs_epi32(d[0], d[1]), w.s01),
                                        _mm512_madd_epi16(_mm512_packs_epi32(d[2], d[3]), w.s23));
  const __m256i mins =
      _mm256_madd_epi16(w.mins, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums)));
  return {isum, _mm_add_epi32(_mm256_castsi256_si128(mins), _mm256_extracti128_si256(mins, 1))};
}

// Chunk c's 32 bytes twice, the copy in the high 256 bits shifted right by four: masking with 0x0F leaves
// the low nibbles (sub-block 2c) below the high ones (sub-block 2c + 1).
inline __m512i nibble_chunk(const uint8_t* qs) {
  const __m512i both = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs)));
  return _mm512_and_si512(_mm512_mask_srli_epi16(both, 0xFFFF0000u, both, 4), _mm512_set1_epi8(0x0F));
}

inline ScaledMinWeights q4_k_weights(const BlockQ4_K& w) {
  ScaledMinWeights u = scaled_min_weights(unpack_scales_mins(w.scales));
  for (int c = 0; c < 4; ++c) u.q[c] = nibble_chunk(w.qs + 32 * c);
  return u;
}

inline ScaledMinWeights q5_k_weights(const BlockQ5_K& w) {
  ScaledMinWeights u = scaled_min_weights(unpack_scales_mins(w.scales));
  // Sub-block s's fifth bits are bit s of qh: chunk c's low half needs bit 2c, its high half bit 2c + 1, so
  // the high copy of qh is shifted one further; bit 0 of each byte then moves to bit 4.
  const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh)));
  const __m512i bit4 = _mm512_set1_epi8(0x10);
  for (int c = 0; c < 4; ++c) {
    const __m512i shifts =
        _mm512_set_epi64(0x0001000100010001LL * (2 * c + 1), 0x0001000100010001LL * (2 * c + 1),
                         0x0001000100010001LL * (2 * c + 1), 0x0001000100010001LL * (2 * c + 1),
                         0x0001000100010001LL * (2 * c), 0x0001000100010001LL * (2 * c),
                         0x0001000100010001LL * (2 * c), 0x0001000100010001LL * (2 * c));
    const __m512i high = _mm512_and_si512(_mm512_slli_epi16(_mm512_srlv_epi16(qh, shifts), 4), bit4);
    u.q[c] = _mm512_or_si512(nibble_chunk(w.qs + 32 * c), high);
  }
  return u;
}

inline ScaledMinIntegers q4_k_integers(const BlockQ4_K& w, const BlockQ8_K& a) {
  return scaled_min_integers(q4_k_weights(w), a);
}

inline ScaledMinIntegers q5_k_integers(const BlockQ5_K& w, const BlockQ8_K& a) {
  return scaled_min_integers(q5_k_weights(w), a);
}

// Four blocks' 16-lane integer vectors -> 128-bit lane i holding four partial sums of block i (integer adds:
// exact).
inline __m512i lane_per_block(__m512i v0, __m512i v1, __m512i v2, __m512i v3) {
  // 128-bit lanes [b0, b0, b1, b1] and [b2, b2, b3, b3]
  const __m512i h01 = _mm512_add_epi32(_mm512_shuffle_i64x2(v0, v1, _MM_SHUFFLE(2, 0, 2, 0)),
                                       _mm512_shuffle_i64x2(v0, v1, _MM_SHUFFLE(3, 1, 3, 1)));
  const __m512i h23 = _mm512_add_epi32(_mm512_shuffle_i64x2(v2, v3, _MM_SHUFFLE(2, 0, 2, 0)),
                                       _mm512_shuffle_i64x2(v2, v3, _MM_SHUFFLE(3, 1, 3, 1)));
  return _mm512_add_epi32(_mm512_shuffle_i64x2(h01, h23, _MM_SHUFFLE(2, 0, 2, 0)),
                          _mm512_shuffle_i64x2(h01, h23, _MM_SHUFFLE(3, 1, 3, 1)));
}

// Four Q4_K/Q5_K super-blocks' fp16 d and dmin, [d_0, dmin_0, d_1, dmin_1, ...] as floats (each block opens
// with them).
template <typename BlockW>
inline __m256 scales_and_mins4(const BlockW* w) {
  uint32_t halves[4];
  for (int i = 0; i < 4; ++i) std::memcpy(&halves[i], &w[i], sizeof halves[i]);
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(halves)));
}

// Four Q4_K/Q5_K super-blocks' float terms from their integers, block i in lane i. The per-block reduction
// and float term were the bulk of the work (without them the Q4_K kernel streamed ~49 GB/s instead of ~28);
// doing four blocks' at once measured ~20% faster than one by one, on 1024- and 4096-element rows.
inline __m128 scaled_min_terms4(const ScaledMinIntegers r[4], __m256 d, const BlockQ8_K* a) {
  const __m512i isums = lane_per_block(r[0].isum, r[1].isum, r[2].isum, r[3].isum);
  const __m512i imins = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(r[1].imin, r[0].imin)),
                                           _mm256_set_m128i(r[3].imin, r[2].imin), 1);
  // lane i: [isum_i, imin_i, isum_i, imin_i]
  const __m512i x =
      _mm512_add_epi32(_mm512_unpacklo_epi32(isums, imins), _mm512_unpackhi_epi32(isums, imins));
  const __m512i y = _mm512_add_epi32(x, _mm512_shuffle_epi32(x, _MM_PERM_BADC));
  const __m512i order = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 13, 12, 9, 8, 5, 4, 1, 0);
  const __m256i totals = _mm512_castsi512_si256(_mm512_permutexvar_epi32(order, y));  // [isum_0, imin_0, ...]
  const __m256 d_a = _mm256_set_ps(a[3].d, a[3].d, a[2].d, a[2].d, a[1].d, a[1].d, a[0].d, a[0].d);
  // The reference's (d_a * d) * isum - (d_a * dmin) * imin, in the even lanes.
  const __m256 products = _mm256_mul_ps(_mm256_mul_ps(d_a, d), _mm256_cvtepi32_ps(totals));
  const __m256 terms = _mm256_sub_ps(products, _mm256_movehdup_ps(products));
  return _mm256_castps256_ps128(_mm256_permutexvar_ps(_mm256_set_epi32(0, 0, 0, 0, 6, 4, 2, 0), terms));
}

// Q6_K's Σ_j sc_j Σ (q - 32) a is Σ_j sc_j Σ q a - 32 Σ_j sc_j bsum_j, as in the AVX2 kernel. In each
// 128-element half, dpbusd over quarters 0-1 (64 contiguous elements) leaves 16-element sub-block 8h + k in
// 128-bit lane k, and over quarters 2-3 sub-block 8h + 4 + k.
struct Q6KWeights {
  __m512i q01[2], q23[2];  // per half: the unsigned weights of quarters 0-1 and of quarters 2-3
  __m512i sc[2];           // per half: the scales in the lanes of packs(d01, d23)
  __m256i scales;          // the 16 scales as int16
};

inline Q6KWeights q6_k_weights(const BlockQ6_K& w) {
  Q6KWeights u;
  u.scales = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales)));
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i bits45 = _mm512_set1_epi8(0x30);
  // Quarter 0 takes qh bits 0-1 and quarter 1 bits 2-3 (moved up by 4 and 2); quarters 2 and 3 take bits
  // 4-5 and 6-7 (moved down by 0 and 2).
  const __m512i up =
      _mm512_set_epi64(0x0002000200020002, 0x0002000200020002, 0x0002000200020002, 0x0002000200020002,
                       0x0004000400040004, 0x0004000400040004, 0x0004000400040004, 0x0004000400040004);
  const __m512i down = _mm512_set_epi64(0x0002000200020002, 0x0002000200020002, 0x0002000200020002,
                                        0x0002000200020002, 0, 0, 0, 0);
  const __m512i sc = _mm512_castsi256_si512(u.scales);
  for (int half = 0; half < 2; ++half) {
    const __m512i ql = _mm512_loadu_si512(reinterpret_cast<const void*>(w.ql + 64 * half));
    const __m512i qh =
        _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh + 32 * half)));
    u.q01[half] =
        _mm512_or_si512(_mm512_and_si512(ql, low4), _mm512_and_si512(_mm512_sllv_epi16(qh, up), bits45));
    u.q23[half] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4),
                                  _mm512_and_si512(_mm512_srlv_epi16(qh, down), bits45));
    const int s = 8 * half;
    u.sc[half] =
        _mm512_permutexvar_epi16(scale_index(s, s + 4, s + 1, s + 5, s + 2, s + 6, s + 3, s + 7), sc);
  }
  return u;
}

// 16 lanes that add up to the super-block's Σ_j sc_j Σ (q - 32) a.
inline __m512i q6_k_integers(const Q6KWeights& w, const BlockQ8_K& a) {
  const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums));
  const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(w.scales, bsums), 5);
  __m512i total = _mm512_setzero_si512();
  for (int half = 0; half < 2; ++half) {
    const int8_t* act = a.qs + 128 * half;
    const __m512i d01 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w.q01[half],
                                            _mm512_loadu_si512(reinterpret_cast<const void*>(act)));
    const __m512i d23 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w.q23[half],
                                            _mm512_loadu_si512(reinterpret_cast<const void*>(act + 64)));
    total = _mm512_dpwssd_epi32(total, _mm512_packs_epi32(d01, d23), w.sc[half]);
  }
  // The offset subtracted from the low lanes: the sum of all 16 is what counts.
  return _mm512_sub_epi32(total, _mm512_zextsi256_si512(offset));
}

}  // namespace
}  // namespace torchllm::kernels
