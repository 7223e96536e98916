// AVX2 K-quant dot products (Q4_K, Q5_K, Q6_K weights against Q8_K activations), bit-exact with
// k_quant_dot_scalar.cpp.
//
// The integer part is llama.cpp's scheme: unsigned weight bytes times int8 activations with maddubs (the
// weights are at most 63, so a pair never saturates int16), then madd with the sub-block scale to widen to
// int32 before anything can overflow. Each super-block leaves an 8-lane int32 vector whose total is the exact
// integer the scalar reference computes; it is reduced right away and the block's float term is formed with
// the reference's multiplies and subtraction (no FMA), then added to LaneSum like the reference does.
// (Forming eight blocks' terms in one register measured ~40% slower on 1024-element rows, the common decode
// GEMV shape: gathering the scales through memory and padding the partial last group cost more than it
// saved.)

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "model/kernels/block_dot.h"
#include "model/kernels/block_dot_kernels.h"
#include "model/kernels/block_layouts.h"
#include "model/kernels/weight_prefetch.h"

namespace torchllm::kernels {
namespace {

// [total of isum's eight lanes, total of imin's four lanes, the same two again].
inline __m128i two_totals(__m256i isum, __m128i imin) {
  const __m128i halves = _mm_add_epi32(_mm256_castsi256_si128(isum), _mm256_extracti128_si256(isum, 1));
  const __m128i pairs = _mm_hadd_epi32(halves, imin);
  return _mm_hadd_epi32(pairs, pairs);
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
  __m128i total = _mm_add_epi32(_mm256_castsi256_si128(isum), _mm256_extracti128_si256(isum, 1));
  total = _mm_add_epi32(total, _mm_unpackhi_epi64(total, total));
  total = _mm_add_epi32(total, _mm_shuffle_epi32(total, 0xB1));
  const float scale = d_a * _cvtsh_ss(d);
  return scale * static_cast<float>(_mm_cvtsi128_si32(total));
}

// The 12 packed scale/min bytes as 16 int16: scales of sub-blocks 0..7 in the low 128 bits, mins in the high
// 128 bits (the same unpacking as get_scale_min_k4, done on 32-bit words).
__m256i unpack_scales_mins(const uint8_t* packed) {
  uint32_t w[3];
  std::memcpy(w, packed, sizeof w);
  constexpr uint32_t kLow6 = 0x3f3f3f3f, kLow4 = 0x0f0f0f0f, kLow2 = 0x03030303;
  const uint32_t scales_lo = w[0] & kLow6;                                        // scales 0..3
  const uint32_t mins_lo = w[1] & kLow6;                                          // mins 0..3
  const uint32_t scales_hi = (w[2] & kLow4) | (((w[0] >> 6) & kLow2) << 4);       // scales 4..7
  const uint32_t mins_hi = ((w[2] >> 4) & kLow4) | (((w[1] >> 6) & kLow2) << 4);  // mins 4..7
  return _mm256_cvtepu8_epi16(_mm_set_epi32(static_cast<int>(mins_hi), static_cast<int>(mins_lo),
                                            static_cast<int>(scales_hi), static_cast<int>(scales_lo)));
}

// Σ_j min_j * (activation sum of 32-element sub-block j), as four int32 partial sums.
__m128i min_products(__m256i scales_mins, const int16_t* bsums) {
  const __m256i sums16 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bsums));
  // Pairs of 16-element sums, at most 32 * 128 in magnitude: no int16 overflow.
  const __m128i sums32 = _mm_hadd_epi16(_mm256_castsi256_si128(sums16), _mm256_extracti128_si256(sums16, 1));
  return _mm_madd_epi16(_mm256_extracti128_si256(scales_mins, 1), sums32);
}

// pshufb masks that broadcast int16 element i of each 128-bit lane to the whole lane.
inline __m256i broadcast_word_mask(int i) {
  const int lo = 2 * i, hi = 2 * i + 1;
  return _mm256_set1_epi16(static_cast<int16_t>(lo | (hi << 8)));
}

// Σ over a 64-element chunk of sub-block scale * (weight * activation) for the two sub-blocks it holds,
// given their unsigned weights (< 64) as bytes.
inline __m256i chunk_products(__m256i scales, int chunk, __m256i w_lo, __m256i w_hi, const int8_t* a) {
  const __m256i a_lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
  const __m256i a_hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 32));
  const __m256i p_lo = _mm256_madd_epi16(_mm256_shuffle_epi8(scales, broadcast_word_mask(2 * chunk)),
                                         _mm256_maddubs_epi16(w_lo, a_lo));
  const __m256i p_hi = _mm256_madd_epi16(_mm256_shuffle_epi8(scales, broadcast_word_mask(2 * chunk + 1)),
                                         _mm256_maddubs_epi16(w_hi, a_hi));
  return _mm256_add_epi32(p_lo, p_hi);
}

__m256i q4_k_block_products(const BlockQ4_K& w, __m256i scales, const int8_t* a) {
  const __m256i low4 = _mm256_set1_epi8(0xF);
  __m256i total = _mm256_setzero_si256();
  for (int c = 0; c < 4; ++c) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs + 32 * c));
    const __m256i lo = _mm256_and_si256(q, low4);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
    total = _mm256_add_epi32(total, chunk_products(scales, c, lo, hi, a + 64 * c));
  }
  return total;
}

__m256i q5_k_block_products(const BlockQ5_K& w, __m256i scales, const int8_t* a) {
  const __m256i low4 = _mm256_set1_epi8(0xF);
  const __m256i bit4 = _mm256_set1_epi8(0x10);
  // Sub-block s's fifth bits are bit s of qh; shifting the whole vector right by one per sub-block keeps
  // each byte's own bits at bit 0 for s < 8 (bits crossing in from the neighbour byte arrive at bit 7).
  __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh));
  __m256i total = _mm256_setzero_si256();
  for (int c = 0; c < 4; ++c) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs + 32 * c));
    const __m256i lo =
        _mm256_or_si256(_mm256_and_si256(q, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), bit4));
    qh = _mm256_srli_epi16(qh, 1);
    const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4),
                                       _mm256_and_si256(_mm256_slli_epi16(qh, 4), bit4));
    qh = _mm256_srli_epi16(qh, 1);
    total = _mm256_add_epi32(total, chunk_products(scales, c, lo, hi, a + 64 * c));
  }
  return total;
}

// Q6_K's Σ_j sc_j Σ (q - 32) a is computed as Σ_j sc_j Σ q a - 32 Σ_j sc_j bsum_j: maddubs needs the
// unsigned q, and the bsums already hold each sub-block's activation sum.
__m256i q6_k_block_products(const BlockQ6_K& w, const BlockQ8_K& a) {
  const __m256i low4 = _mm256_set1_epi8(0xF);
  const __m256i bits45 = _mm256_set1_epi8(0x30);
  const __m256i scales = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales)));
  const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums));
  const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(scales, bsums), 5);

  // Each half's eight scales in both 128-bit lanes; quarter k's 16-element sub-blocks are 2k (low lane)
  // and 2k+1 (high lane).
  const __m256i half_scales[2] = {_mm256_permute4x64_epi64(scales, 0x44),
                                  _mm256_permute4x64_epi64(scales, 0xEE)};
  __m256i total = _mm256_setzero_si256();
  for (int half = 0; half < 2; ++half) {
    const uint8_t* ql = w.ql + 64 * half;
    const int8_t* act = a.qs + 128 * half;
    const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
    const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh + 32 * half));
    // The four 32-element quarters: low/high nibble of ql0/ql1 plus qh bits 0-1, 2-3, 4-5, 6-7 moved to 4-5.
    const __m256i q[4] = {
        _mm256_or_si256(_mm256_and_si256(ql0, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), bits45)),
        _mm256_or_si256(_mm256_and_si256(ql1, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits45)),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), _mm256_and_si256(qh, bits45)),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                        _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits45)),
    };
    for (int k = 0; k < 4; ++k) {
      const __m256i mask =
          _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>((4 * k + 2) | ((4 * k + 3) << 8))),
                           _mm_set1_epi16(static_cast<int16_t>((4 * k) | ((4 * k + 1) << 8))));
      const __m256i act_k = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(act + 32 * k));
      const __m256i p =
          _mm256_madd_epi16(_mm256_shuffle_epi8(half_scales[half], mask), _mm256_maddubs_epi16(q[k], act_k));
      total = _mm256_add_epi32(total, p);
    }
  }
  return _mm256_sub_epi32(total, offset);
}

// The Q4_K/Q5_K driver: BlockW is the weight block, block_products its integer kernel.
template <typename BlockW, __m256i (*block_products)(const BlockW&, __m256i, const int8_t*)>
float dot_scaled_min(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  const auto* w = reinterpret_cast<const BlockW*>(weight_row);
  const auto* a = reinterpret_cast<const BlockQ8_K*>(activation_row);
  LaneSum sum;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    prefetch_weights_ahead<sizeof(BlockW)>(w + b);
    const __m256i scales_mins = unpack_scales_mins(w[b].scales);
    const __m256i scales = _mm256_permute4x64_epi64(scales_mins, 0x44);  // scales in both 128-bit lanes
    const __m256i isum = block_products(w[b], scales, a[b].qs);
    const __m128i imin = min_products(scales_mins, a[b].bsums);
    sum.add(b, scaled_min_term(a[b].d, w[b].d, w[b].dmin, isum, imin));
  }
  return sum.total();
}

}  // namespace

float dot_q4_k_avx2(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_scaled_min<BlockQ4_K, q4_k_block_products>(weight_row, activation_row, n);
}

float dot_q5_k_avx2(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_scaled_min<BlockQ5_K, q5_k_block_products>(weight_row, activation_row, n);
}

float dot_q6_k_avx2(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  const auto* w = reinterpret_cast<const BlockQ6_K*>(weight_row);
  const auto* a = reinterpret_cast<const BlockQ8_K*>(activation_row);
  LaneSum sum;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    prefetch_weights_ahead<sizeof(BlockQ6_K)>(w + b);
    sum.add(b, scaled_term(a[b].d, w[b].d, q6_k_block_products(w[b], a[b])));
  }
  return sum.total();
}

}  // namespace torchllm::kernels
