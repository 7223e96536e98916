// AVX-512 (F/BW/VL/DQ + VNNI) block dot products, bit-exact with the scalar references like the AVX2 ones.
//
// VNNI's dpbusd multiplies unsigned weight bytes by signed activation bytes and adds each group of four
// products straight into an int32 lane: one instruction where AVX2 needs maddubs + madd, and no int16
// intermediate that could saturate, so every integer sum is exact. Signed weights are made unsigned by adding
// an offset (128 for Q8_0, 8 for Q4_0, 16 for Q5_0) and the offset times the activation sum is subtracted,
// which also holds for activations of -128 (no sign trick). The float terms are formed with the same single
// operations as the references and added in LaneSum's order.
//
// The helpers live in block_dot_avx512_impl.h, which explains why nothing else from a header is used here.

#include "model/kernels/block_dot_avx512_impl.h"
#include "model/kernels/block_dot_kernels.h"
#include "model/kernels/weight_prefetch.h"

namespace torchllm::kernels {
namespace {

// The row loop shared by every 32-element format (W: Q8_0Weights and the like). kHasMin adds the
// reference's m_w * s_a term.
template <typename W>
float dot_row(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  using Block = typename W::Block;
  using Activation = typename W::Activation;
  const auto* w = reinterpret_cast<const Block*>(weight_row);
  const auto* a = reinterpret_cast<const Activation*>(activation_row);
  const int64_t blocks = n / kQK;
  __m256 acc = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 8 <= blocks; b += 8) {
    prefetch_weights_ahead<8 * sizeof(Block)>(w + b);
    __m512i p[4];
    for (int i = 0; i < 4; ++i) {
      p[i] = offset_products<W::kOffset>(W::pair(w[b + 2 * i], w[b + 2 * i + 1]),
                                         load_pair(a[b + 2 * i].qs, a[b + 2 * i + 1].qs));
    }
    const __m256 scale = _mm256_mul_ps(halves8(w + b, [](const Block& x) { return x.d; }),
                                       halves8(a + b, [](const Activation& x) { return x.d; }));
    __m256 terms = _mm256_mul_ps(scale, _mm256_cvtepi32_ps(block_sums(p)));
    if constexpr (W::kHasMin) {
      terms = _mm256_add_ps(terms, _mm256_mul_ps(halves8(w + b, [](const Block& x) { return x.m; }),
                                                 halves8(a + b, [](const Activation& x) { return x.s; })));
    }
    acc = _mm256_add_ps(acc, terms);
  }
  Lanes sum;
  _mm256_storeu_ps(sum.lane, acc);
  for (; b < blocks; ++b) {
    // The block paired with itself; its sum is the low half's.
    const __m512i p = offset_products<W::kOffset>(W::pair(w[b], w[b]), load_pair(a[b].qs, a[b].qs));
    const int isum = horizontal_sum(_mm512_castsi512_si256(p));
    float term = (half_to_float(w[b].d) * half_to_float(a[b].d)) * static_cast<float>(isum);
    if constexpr (W::kHasMin) term = term + half_to_float(w[b].m) * half_to_float(a[b].s);
    sum.add(b, term);
  }
  return sum.total();
}

// The Q4_K/Q5_K row loop: groups of four blocks fill LaneSum's lanes 0-3 and 4-7 in turn, the last few
// blocks go one by one.
template <typename BlockW, ScaledMinIntegers (*integers)(const BlockW&, const BlockQ8_K&)>
float dot_scaled_min(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  const auto* w = reinterpret_cast<const BlockW*>(weight_row);
  const auto* a = reinterpret_cast<const BlockQ8_K*>(activation_row);
  const int64_t blocks = n / kQK_K;
  const auto terms4 = [&](int64_t first) {
    ScaledMinIntegers r[4];
    for (int i = 0; i < 4; ++i) r[i] = integers(w[first + i], a[first + i]);
    return scaled_min_terms4(r, scales_and_mins4(w + first), a + first);
  };
  __m128 lanes_lo = _mm_setzero_ps(), lanes_hi = _mm_setzero_ps();
  int64_t b = 0;
  for (; b + 8 <= blocks; b += 8) {
    prefetch_weights_ahead<8 * sizeof(BlockW)>(w + b);
    lanes_lo = _mm_add_ps(lanes_lo, terms4(b));
    lanes_hi = _mm_add_ps(lanes_hi, terms4(b + 4));
  }
  if (b + 4 <= blocks) {
    lanes_lo = _mm_add_ps(lanes_lo, terms4(b));
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

}  // namespace

float dot_q8_0_avx512(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_row<Q8_0Weights>(weight_row, activation_row, n);
}

float dot_q4_0_avx512(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_row<Q4_0Weights>(weight_row, activation_row, n);
}

float dot_q5_0_avx512(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_row<Q5_0Weights>(weight_row, activation_row, n);
}

float dot_q4_1_avx512(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_row<Q4_1Weights>(weight_row, activation_row, n);
}

float dot_q5_1_avx512(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_row<Q5_1Weights>(weight_row, activation_row, n);
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
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    prefetch_weights_ahead<sizeof(BlockQ6_K)>(w + b);
    sum.add(b, scaled_term(a[b].d, w[b].d, fold(q6_k_integers(q6_k_weights(w[b]), a[b]))));
  }
  return sum.total();
}

}  // namespace torchllm::kernels
