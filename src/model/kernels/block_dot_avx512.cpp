// AVX-512 (F/BW/VL/DQ + VNNI) block dot products, bit-exact with the scalar references like the AVX2 ones.
//
// VNNI's dpbusd multiplies unsigned weight bytes by signed activation bytes and adds each group of four
// products straight into an int32 lane: one instruction where AVX2 needs maddubs + madd, and no int16
// intermediate that could saturate, so every integer sum is exact. Signed weights are made unsigned by adding
// an offset (128 for Q8_0, 8 for Q4_0, 16 for Q5_0) and the offset times the activation sum is subtracted,
// which also holds for activations of -128 (no sign trick). The float terms are formed with the same single
// operations as the references and added in LaneSum's order.
//
// Like bf16_gemv_avx512.cpp, this file uses no inline function or template from a header (LaneSum,
// fp16_to_fp32): an out-of-line copy compiled here with AVX-512 could be the one the linker keeps for the
// whole program and then run on a CPU without it. Lanes below mirrors LaneSum, and F16C's conversion gives
// the same float as fp16_to_fp32 for every finite half (the tests cover subnormals).

// GCC 12's AVX-512 intrinsics fill their pass-through operand with a self-initialized "undefined" vector,
// which -Wuninitialized reports inside the header wherever they are inlined (GCC bug 105593, fixed in
// 12.3/13).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>
#include <cstring>

#include "model/kernels/block_dot_kernels.h"
#include "model/kernels/block_layouts.h"

namespace torchllm::kernels {
namespace {

// LaneSum (block_dot.h), kept local to this file: block b's term goes to lane b % 8, lanes added pairwise.
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
// register; kHasMin adds the reference's m_w * s_a term.
template <typename Block, typename Activation, bool kHasMin, typename Partials>
float dot_row(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n, Partials partials) {
  const auto* w = reinterpret_cast<const Block*>(weight_row);
  const auto* a = reinterpret_cast<const Activation*>(activation_row);
  const int64_t blocks = n / kQK;
  __m256 acc = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 8 <= blocks; b += 8) {
    __m512i p[4];
    alignas(16) uint16_t wd[8], ad[8];
    for (int i = 0; i < 4; ++i)
      p[i] = partials(w[b + 2 * i], a[b + 2 * i], w[b + 2 * i + 1], a[b + 2 * i + 1]);
    for (int i = 0; i < 8; ++i) {
      wd[i] = w[b + i].d;
      ad[i] = a[b + i].d;
    }
    const __m256 scale = _mm256_mul_ps(_mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(wd))),
                                       _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(ad))));
    __m256 terms = _mm256_mul_ps(scale, _mm256_cvtepi32_ps(block_sums(p)));
    if constexpr (kHasMin) {
      alignas(16) uint16_t wm[8], as[8];
      for (int i = 0; i < 8; ++i) {
        wm[i] = w[b + i].m;
        as[i] = a[b + i].s;
      }
      terms = _mm256_add_ps(
          terms, _mm256_mul_ps(_mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(wm))),
                               _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(as)))));
    }
    acc = _mm256_add_ps(acc, terms);
  }
  Lanes sum;
  _mm256_storeu_ps(sum.lane, acc);
  for (; b < blocks; ++b) {
    // The block paired with itself; its sum is the low half's.
    const int isum = horizontal_sum(_mm512_castsi512_si256(partials(w[b], a[b], w[b], a[b])));
    float term = (half_to_float(w[b].d) * half_to_float(a[b].d)) * static_cast<float>(isum);
    if constexpr (kHasMin) term = term + half_to_float(w[b].m) * half_to_float(a[b].s);
    sum.add(b, term);
  }
  return sum.total();
}

// ---- K formats ----
//
// Per super-block, dpbusd sums each 4-element group of weight * activation into an int32 that fits int16
// (|value| <= 4 * 63 * 128 = 32256), so two such registers pack into one of int16 without saturation and one
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

// Σ_j min_j * (activation sum of 32-element sub-block j), as four int32 partial sums.
inline __m128i min_products(__m256i scales_mins, const int16_t* bsums) {
  // min_j twice, against 16-element sums 2j and 2j + 1.
  const __m256i index = _mm256_set_epi16(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8);
  const __m256i products = _mm256_madd_epi16(_mm256_permutexvar_epi16(index, scales_mins),
                                             _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bsums)));
  return _mm_add_epi32(_mm256_castsi256_si128(products), _mm256_extracti128_si256(products, 1));
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

// Σ_i q_i * a_i * scale(i) over a Q4_K/Q5_K super-block, given the four 64-element chunks' unsigned weights
// (chunk c: low 256 bits sub-block 2c, high 256 bits sub-block 2c + 1, matching a[64c .. 64c + 63]).
inline __m512i scaled_chunks(const __m512i q[4], const int8_t* a, __m256i scales_mins) {
  __m512i d[4];
  for (int c = 0; c < 4; ++c) {
    d[c] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[c],
                               _mm512_loadu_si512(reinterpret_cast<const void*>(a + 64 * c)));
  }
  // packs(d[0], d[1]) lane k: four sums of d[0]'s lane k, then four of d[1]'s; d[c]'s lanes 0-1 belong to
  // sub-block 2c, lanes 2-3 to 2c + 1.
  const __m512i sm = _mm512_castsi256_si512(scales_mins);
  const __m512i s01 = _mm512_permutexvar_epi16(scale_index(0, 2, 0, 2, 1, 3, 1, 3), sm);
  const __m512i s23 = _mm512_permutexvar_epi16(scale_index(4, 6, 4, 6, 5, 7, 5, 7), sm);
  // Two independent products, added: shorter than chaining the second dpwssd on the first.
  return _mm512_add_epi32(_mm512_madd_epi16(_mm512_packs_epi32(d[0], d[1]), s01),
                          _mm512_madd_epi16(_mm512_packs_epi32(d[2], d[3]), s23));
}

// Chunk c's 32 bytes twice, the copy in the high 256 bits shifted right by four: masking with 0x0F leaves
// the low nibbles (sub-block 2c) below the high ones (sub-block 2c + 1).
inline __m512i nibble_chunk(const uint8_t* qs) {
  const __m512i both = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs)));
  return _mm512_and_si512(_mm512_mask_srli_epi16(both, 0xFFFF0000u, both, 4), _mm512_set1_epi8(0x0F));
}

inline ScaledMinIntegers q4_k_integers(const BlockQ4_K& w, const BlockQ8_K& a) {
  const __m256i scales_mins = unpack_scales_mins(w.scales);
  __m512i q[4];
  for (int c = 0; c < 4; ++c) q[c] = nibble_chunk(w.qs + 32 * c);
  return {scaled_chunks(q, a.qs, scales_mins), min_products(scales_mins, a.bsums)};
}

inline ScaledMinIntegers q5_k_integers(const BlockQ5_K& w, const BlockQ8_K& a) {
  const __m256i scales_mins = unpack_scales_mins(w.scales);
  // Sub-block s's fifth bits are bit s of qh: chunk c's low half needs bit 2c, its high half bit 2c + 1, so
  // the high copy of qh is shifted one further; bit 0 of each byte then moves to bit 4.
  const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh)));
  const __m512i bit4 = _mm512_set1_epi8(0x10);
  __m512i q[4];
  for (int c = 0; c < 4; ++c) {
    const __m512i shifts =
        _mm512_set_epi64(0x0001000100010001LL * (2 * c + 1), 0x0001000100010001LL * (2 * c + 1),
                         0x0001000100010001LL * (2 * c + 1), 0x0001000100010001LL * (2 * c + 1),
                         0x0001000100010001LL * (2 * c), 0x0001000100010001LL * (2 * c),
                         0x0001000100010001LL * (2 * c), 0x0001000100010001LL * (2 * c));
    const __m512i high = _mm512_and_si512(_mm512_slli_epi16(_mm512_srlv_epi16(qh, shifts), 4), bit4);
    q[c] = _mm512_or_si512(nibble_chunk(w.qs + 32 * c), high);
  }
  return {scaled_chunks(q, a.qs, scales_mins), min_products(scales_mins, a.bsums)};
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

// Four Q4_K/Q5_K super-blocks' float terms, block i in lane i. The per-block reduction and float term were
// the bulk of the work (without them the Q4_K kernel streamed ~49 GB/s instead of ~28); doing four blocks'
// at once measured ~20% faster than one by one, on 1024- and 4096-element rows.
template <typename BlockW, ScaledMinIntegers (*integers)(const BlockW&, const BlockQ8_K&)>
inline __m128 scaled_min_terms4(const BlockW* w, const BlockQ8_K* a) {
  ScaledMinIntegers r[4];
  for (int i = 0; i < 4; ++i) r[i] = integers(w[i], a[i]);
  const __m512i isums = lane_per_block(r[0].isum, r[1].isum, r[2].isum, r[3].isum);
  const __m512i imins = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(r[1].imin, r[0].imin)),
                                           _mm256_set_m128i(r[3].imin, r[2].imin), 1);
  // lane i: [isum_i, imin_i, isum_i, imin_i]
  const __m512i x =
      _mm512_add_epi32(_mm512_unpacklo_epi32(isums, imins), _mm512_unpackhi_epi32(isums, imins));
  const __m512i y = _mm512_add_epi32(x, _mm512_shuffle_epi32(x, _MM_PERM_BADC));
  const __m512i order = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 13, 12, 9, 8, 5, 4, 1, 0);
  const __m256i totals = _mm512_castsi512_si256(_mm512_permutexvar_epi32(order, y));  // [isum_0, imin_0, ...]
  // Each block opens with its fp16 d and dmin: [d_0, dmin_0, d_1, dmin_1, ...] as floats.
  uint32_t halves[4];
  for (int i = 0; i < 4; ++i) std::memcpy(&halves[i], &w[i], sizeof halves[i]);
  const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(halves)));
  const __m256 d_a = _mm256_set_ps(a[3].d, a[3].d, a[2].d, a[2].d, a[1].d, a[1].d, a[0].d, a[0].d);
  // The reference's (d_a * d) * isum - (d_a * dmin) * imin, in the even lanes.
  const __m256 products = _mm256_mul_ps(_mm256_mul_ps(d_a, d), _mm256_cvtepi32_ps(totals));
  const __m256 terms = _mm256_sub_ps(products, _mm256_movehdup_ps(products));
  return _mm256_castps256_ps128(_mm256_permutexvar_ps(_mm256_set_epi32(0, 0, 0, 0, 6, 4, 2, 0), terms));
}

// The Q4_K/Q5_K row loop: groups of four blocks fill LaneSum's lanes 0-3 and 4-7 in turn, the last few
// blocks go one by one.
template <typename BlockW, ScaledMinIntegers (*integers)(const BlockW&, const BlockQ8_K&)>
float dot_scaled_min(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  const auto* w = reinterpret_cast<const BlockW*>(weight_row);
  const auto* a = reinterpret_cast<const BlockQ8_K*>(activation_row);
  const int64_t blocks = n / kQK_K;
  __m128 lanes_lo = _mm_setzero_ps(), lanes_hi = _mm_setzero_ps();
  int64_t b = 0;
  for (; b + 8 <= blocks; b += 8) {
    lanes_lo = _mm_add_ps(lanes_lo, scaled_min_terms4<BlockW, integers>(w + b, a + b));
    lanes_hi = _mm_add_ps(lanes_hi, scaled_min_terms4<BlockW, integers>(w + b + 4, a + b + 4));
  }
  if (b + 4 <= blocks) {
    lanes_lo = _mm_add_ps(lanes_lo, scaled_min_terms4<BlockW, integers>(w + b, a + b));
    b += 4;
  }
  Lanes sum;
  _mm_storeu_ps(sum.lane, lanes_lo);
  _mm_storeu_ps(sum.lane + 4, lanes_hi);
  for (; b < blocks; ++b) {
    const ScaledMinIntegers r = integers(w[b], a[b]);
    sum.add(b, scaled_min_term(a[b].d, w[b].d, w[b].dmin, fold(r.isum), r.imin));
  }
  return sum.total();
}

// Q6_K's Σ_j sc_j Σ (q - 32) a is Σ_j sc_j Σ q a - 32 Σ_j sc_j bsum_j, as in the AVX2 kernel. In each
// 128-element half, dpbusd over quarters 0-1 (64 contiguous elements) leaves 16-element sub-block 8h + k in
// 128-bit lane k, and over quarters 2-3 sub-block 8h + 4 + k.
inline __m512i q6_k_integers(const BlockQ6_K& w, const BlockQ8_K& a) {
  const __m256i scales = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales)));
  const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums));
  const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(scales, bsums), 5);

  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i bits45 = _mm512_set1_epi8(0x30);
  // Quarter 0 takes qh bits 0-1 and quarter 1 bits 2-3 (moved up by 4 and 2); quarters 2 and 3 take bits
  // 4-5 and 6-7 (moved down by 0 and 2).
  const __m512i up =
      _mm512_set_epi64(0x0002000200020002, 0x0002000200020002, 0x0002000200020002, 0x0002000200020002,
                       0x0004000400040004, 0x0004000400040004, 0x0004000400040004, 0x0004000400040004);
  const __m512i down = _mm512_set_epi64(0x0002000200020002, 0x0002000200020002, 0x0002000200020002,
                                        0x0002000200020002, 0, 0, 0, 0);
  const __m512i sc = _mm512_castsi256_si512(scales);
  __m512i total = _mm512_setzero_si512();
  for (int half = 0; half < 2; ++half) {
    const __m512i ql = _mm512_loadu_si512(reinterpret_cast<const void*>(w.ql + 64 * half));
    const __m512i qh =
        _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh + 32 * half)));
    const __m512i q01 =
        _mm512_or_si512(_mm512_and_si512(ql, low4), _mm512_and_si512(_mm512_sllv_epi16(qh, up), bits45));
    const __m512i q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4),
                                        _mm512_and_si512(_mm512_srlv_epi16(qh, down), bits45));
    const int8_t* act = a.qs + 128 * half;
    const __m512i d01 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q01,
                                            _mm512_loadu_si512(reinterpret_cast<const void*>(act)));
    const __m512i d23 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q23,
                                            _mm512_loadu_si512(reinterpret_cast<const void*>(act + 64)));
    const int s = 8 * half;
    const __m512i index = scale_index(s, s + 4, s + 1, s + 5, s + 2, s + 6, s + 3, s + 7);
    total = _mm512_dpwssd_epi32(total, _mm512_packs_epi32(d01, d23), _mm512_permutexvar_epi16(index, sc));
  }
  // The offset subtracted from the low lanes: the sum of all 16 is what counts.
  return _mm512_sub_epi32(total, _mm512_zextsi256_si512(offset));
}

}  // namespace

float dot_q8_0_avx512(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_row<BlockQ8_0, BlockQ8_0, false>(
      weight_row, activation_row, n,
      [](const BlockQ8_0& w0, const BlockQ8_0& a0, const BlockQ8_0& w1, const BlockQ8_0& a1) {
        // w + 128 as an unsigned byte is w with its sign bit flipped.
        const __m512i u =
            _mm512_xor_si512(load_pair(w0.qs, w1.qs), _mm512_set1_epi8(static_cast<char>(0x80)));
        return offset_products<128>(u, load_pair(a0.qs, a1.qs));
      });
}

float dot_q4_0_avx512(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_row<BlockQ4_0, BlockQ8_0, false>(
      weight_row, activation_row, n,
      [](const BlockQ4_0& w0, const BlockQ8_0& a0, const BlockQ4_0& w1, const BlockQ8_0& a1) {
        return offset_products<8>(nibble_pair(w0.qs, w1.qs), load_pair(a0.qs, a1.qs));
      });
}

float dot_q5_0_avx512(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_row<BlockQ5_0, BlockQ8_0, false>(
      weight_row, activation_row, n,
      [](const BlockQ5_0& w0, const BlockQ8_0& a0, const BlockQ5_0& w1, const BlockQ8_0& a1) {
        const __m512i q = nibble_pair(w0.qs, w1.qs);
        const __m512i v = _mm512_mask_add_epi8(q, high_bits_pair(w0.qh, w1.qh), q, _mm512_set1_epi8(0x10));
        return offset_products<16>(v, load_pair(a0.qs, a1.qs));
      });
}

float dot_q4_1_avx512(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_row<BlockQ4_1, BlockQ8_1, true>(
      weight_row, activation_row, n,
      [](const BlockQ4_1& w0, const BlockQ8_1& a0, const BlockQ4_1& w1, const BlockQ8_1& a1) {
        return offset_products<0>(nibble_pair(w0.qs, w1.qs), load_pair(a0.qs, a1.qs));
      });
}

float dot_q5_1_avx512(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_row<BlockQ5_1, BlockQ8_1, true>(
      weight_row, activation_row, n,
      [](const BlockQ5_1& w0, const BlockQ8_1& a0, const BlockQ5_1& w1, const BlockQ8_1& a1) {
        const __m512i q = nibble_pair(w0.qs, w1.qs);
        const __m512i v = _mm512_mask_add_epi8(q, high_bits_pair(w0.qh, w1.qh), q, _mm512_set1_epi8(0x10));
        return offset_products<0>(v, load_pair(a0.qs, a1.qs));
      });
}

float dot_q4_k_avx512(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_scaled_min<BlockQ4_K, q4_k_integers>(weight_row, activation_row, n);
}

float dot_q5_k_avx512(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_scaled_min<BlockQ5_K, q5_k_integers>(weight_row, activation_row, n);
}

float dot_q6_k_avx512(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  // Block by block: reducing four blocks together, as for Q4_K, measured slower on 4096-element rows.
  const auto* w = reinterpret_cast<const BlockQ6_K*>(weight_row);
  const auto* a = reinterpret_cast<const BlockQ8_K*>(activation_row);
  Lanes sum;
  for (int64_t b = 0; b < n / kQK_K; ++b)
    sum.add(b, scaled_term(a[b].d, w[b].d, fold(q6_k_integers(w[b], a[b]))));
  return sum.total();
}

}  // namespace torchllm::kernels
