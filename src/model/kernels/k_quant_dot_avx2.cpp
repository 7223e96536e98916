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

// A super-block's 256 weights unpacked once for every token: vector v holds elements 32 v .. 32 v + 31 as
// unsigned bytes (< 64, so a maddubs pair never saturates int16), and scale[v] the int16 sub-block scale of
// each of its 16-bit products (Q4_K/Q5_K: one 32-element sub-block; Q6_K: one 16-element sub-block a
// 128-bit half).
struct KWeights {
  __m256i q[8];
  __m256i scale[8];
};

// Σ over vectors 0 .. count - 1 of sub-block scale * (weight * activation), as eight int32 partial sums.
inline __m256i products(const KWeights& u, int count, const int8_t* a) {
  __m256i total = _mm256_setzero_si256();
  for (int v = 0; v < count; ++v) {
    const __m256i act = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 32 * v));
    total = _mm256_add_epi32(total, _mm256_madd_epi16(u.scale[v], _mm256_maddubs_epi16(u.q[v], act)));
  }
  return total;
}

// Q4_K/Q5_K: `scales` holds the eight sub-block scales as int16 in both 128-bit lanes.
inline void set_sub_block_scales(KWeights& u, __m256i scales) {
  for (int v = 0; v < 8; ++v) u.scale[v] = _mm256_shuffle_epi8(scales, broadcast_word_mask(v));
}

// Q4_K and Q5_K: a super-block's weights into u.q (its scales go in with set_sub_block_scales).
void unpack_q4_k(const BlockQ4_K& w, KWeights& u) {
  const __m256i low4 = _mm256_set1_epi8(0xF);
  for (int c = 0; c < 4; ++c) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs + 32 * c));
    u.q[2 * c] = _mm256_and_si256(q, low4);
    u.q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
  }
}

void unpack_q5_k(const BlockQ5_K& w, KWeights& u) {
  const __m256i low4 = _mm256_set1_epi8(0xF);
  const __m256i bit4 = _mm256_set1_epi8(0x10);
  // Sub-block s's fifth bits are bit s of qh; shifting the whole vector right by one per sub-block keeps
  // each byte's own bits at bit 0 for s < 8 (bits crossing in from the neighbour byte arrive at bit 7).
  __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh));
  for (int c = 0; c < 4; ++c) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs + 32 * c));
    u.q[2 * c] = _mm256_or_si256(_mm256_and_si256(q, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), bit4));
    qh = _mm256_srli_epi16(qh, 1);
    u.q[2 * c + 1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4),
                                     _mm256_and_si256(_mm256_slli_epi16(qh, 4), bit4));
    qh = _mm256_srli_epi16(qh, 1);
  }
}

// Half `half` of a Q6_K super-block (elements 128 half .. 128 half + 127) into vectors 0-3 of `u`: its
// unsigned q (the value plus 32) and the scales of its eight 16-element sub-blocks. `scales`: the block's 16
// int8 scales as int16. (Half a block at a time: the whole block's 16 vectors spilled, ~15% slower.)
__attribute__((always_inline)) inline void unpack_q6_k_half(const BlockQ6_K& w, int half, __m256i scales,
                                                            KWeights& u) {
  const __m256i low4 = _mm256_set1_epi8(0xF);
  const __m256i bits45 = _mm256_set1_epi8(0x30);
  const uint8_t* ql = w.ql + 64 * half;
  const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
  const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
  const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh + 32 * half));
  // The four 32-element quarters: low/high nibble of ql0/ql1 plus qh bits 0-1, 2-3, 4-5, 6-7 moved to 4-5.
  u.q[0] = _mm256_or_si256(_mm256_and_si256(ql0, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), bits45));
  u.q[1] = _mm256_or_si256(_mm256_and_si256(ql1, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits45));
  u.q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), _mm256_and_si256(qh, bits45));
  u.q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                           _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits45));
  // The half's eight scales in both 128-bit lanes; quarter k's 16-element sub-blocks are 2k (low lane) and
  // 2k+1 (high lane).
  const __m256i half_scales =
      half == 0 ? _mm256_permute4x64_epi64(scales, 0x44) : _mm256_permute4x64_epi64(scales, 0xEE);
  for (int k = 0; k < 4; ++k) {
    const __m256i mask =
        _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>((4 * k + 2) | ((4 * k + 3) << 8))),
                         _mm_set1_epi16(static_cast<int16_t>((4 * k) | ((4 * k + 1) << 8))));
    u.scale[k] = _mm256_shuffle_epi8(half_scales, mask);
  }
}

// kT tokens' activation rows (`stride` bytes apart) against one Q4_K/Q5_K weight row: each super-block is
// unpacked once and its integer sums and float term formed per token as the single-token kernel's.
template <typename BlockW, void (*unpack)(const BlockW&, KWeights&), int kT>
void dot_scaled_min(const uint8_t* weight_row, const uint8_t* activations, int64_t stride, int64_t n,
                    float* out) {
  const auto* w = reinterpret_cast<const BlockW*>(weight_row);
  const BlockQ8_K* a[kT];
  for (int t = 0; t < kT; ++t) a[t] = reinterpret_cast<const BlockQ8_K*>(activations + t * stride);
  LaneSum sum[kT];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    prefetch_weights_ahead<sizeof(BlockW)>(w + b);
    const __m256i scales_mins = unpack_scales_mins(w[b].scales);
    KWeights u;
    unpack(w[b], u);
    set_sub_block_scales(u, _mm256_permute4x64_epi64(scales_mins, 0x44));  // scales in both 128-bit lanes
    for (int t = 0; t < kT; ++t) {
      const BlockQ8_K& at = a[t][b];
      const __m256i isum = products(u, 8, at.qs);
      const __m128i imin = min_products(scales_mins, at.bsums);
      sum[t].add(b, scaled_min_term(at.d, w[b].d, w[b].dmin, isum, imin));
    }
  }
  for (int t = 0; t < kT; ++t) out[t] = sum[t].total();
}

// The same for Q6_K, half a super-block at a time. Its Σ_j sc_j Σ (q - 32) a is computed as
// Σ_j sc_j Σ q a - 32 Σ_j sc_j bsum_j: maddubs needs the unsigned q, and the bsums already hold each
// sub-block's activation sum.
template <int kT>
void dot_q6_k(const uint8_t* weight_row, const uint8_t* activations, int64_t stride, int64_t n, float* out) {
  const auto* w = reinterpret_cast<const BlockQ6_K*>(weight_row);
  const BlockQ8_K* a[kT];
  for (int t = 0; t < kT; ++t) a[t] = reinterpret_cast<const BlockQ8_K*>(activations + t * stride);
  LaneSum sum[kT];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    prefetch_weights_ahead<sizeof(BlockQ6_K)>(w + b);
    const __m256i scales =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].scales)));
    __m256i total[kT];
    for (int t = 0; t < kT; ++t) {
      const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[t][b].bsums));
      total[t] =
          _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(scales, bsums), 5));
    }
    for (int half = 0; half < 2; ++half) {
      KWeights u;
      unpack_q6_k_half(w[b], half, scales, u);
      for (int t = 0; t < kT; ++t)
        total[t] = _mm256_add_epi32(total[t], products(u, 4, a[t][b].qs + 128 * half));
    }
    for (int t = 0; t < kT; ++t) sum[t].add(b, scaled_term(a[t][b].d, w[b].d, total[t]));
  }
  for (int t = 0; t < kT; ++t) out[t] = sum[t].total();
}

// Tokens at most this many at a time: their activation blocks stay in L1 with the unpacked weights.
constexpr int kMaxTokens = 4;

// The last `tokens` (< kMaxTokens) tokens in one call of K::run<tokens>.
template <typename K, int kT = kMaxTokens - 1>
void rest(const uint8_t* weight_row, const uint8_t* activations, int64_t stride, int64_t tokens, int64_t n,
          float* out) {
  if (tokens == kT) return K::template run<kT>(weight_row, activations, stride, n, out);
  if constexpr (kT > 1) rest<K, kT - 1>(weight_row, activations, stride, tokens, n, out);
}

// All tokens through K::run<kT>, kMaxTokens at a time.
template <typename K>
void many(const uint8_t* weight_row, const uint8_t* activations, int64_t stride, int64_t tokens, int64_t n,
          float* out) {
  int64_t t = 0;
  for (; t + kMaxTokens <= tokens; t += kMaxTokens)
    K::template run<kMaxTokens>(weight_row, activations + t * stride, stride, n, out + t);
  rest<K>(weight_row, activations + t * stride, stride, tokens - t, n, out + t);
}

struct Q4KTokens {
  template <int kT>
  static void run(const uint8_t* w, const uint8_t* a, int64_t stride, int64_t n, float* out) {
    dot_scaled_min<BlockQ4_K, unpack_q4_k, kT>(w, a, stride, n, out);
  }
};
struct Q5KTokens {
  template <int kT>
  static void run(const uint8_t* w, const uint8_t* a, int64_t stride, int64_t n, float* out) {
    dot_scaled_min<BlockQ5_K, unpack_q5_k, kT>(w, a, stride, n, out);
  }
};
struct Q6KTokens {
  template <int kT>
  static void run(const uint8_t* w, const uint8_t* a, int64_t stride, int64_t n, float* out) {
    dot_q6_k<kT>(w, a, stride, n, out);
  }
};

}  // namespace

float dot_q4_k_avx2(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  float out;
  Q4KTokens::run<1>(weight_row, activation_row, 0, n, &out);
  return out;
}

float dot_q5_k_avx2(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  float out;
  Q5KTokens::run<1>(weight_row, activation_row, 0, n, &out);
  return out;
}

float dot_q6_k_avx2(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  float out;
  Q6KTokens::run<1>(weight_row, activation_row, 0, n, &out);
  return out;
}

void dot_many_q4_k_avx2(const uint8_t* weight_row, const uint8_t* activation_rows, int64_t activation_stride,
                        int64_t tokens, int64_t n, float* out) {
  many<Q4KTokens>(weight_row, activation_rows, activation_stride, tokens, n, out);
}

void dot_many_q5_k_avx2(const uint8_t* weight_row, const uint8_t* activation_rows, int64_t activation_stride,
                        int64_t tokens, int64_t n, float* out) {
  many<Q5KTokens>(weight_row, activation_rows, activation_stride, tokens, n, out);
}

void dot_many_q6_k_avx2(const uint8_t* weight_row, const uint8_t* activation_rows, int64_t activation_stride,
                        int64_t tokens, int64_t n, float* out) {
  many<Q6KTokens>(weight_row, activation_rows, activation_stride, tokens, n, out);
}

}  // namespace torchllm::kernels
