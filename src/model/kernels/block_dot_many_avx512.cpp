// AVX-512 VNNI block dot products of one weight row with several tokens' activation rows: each weight block
// is unpacked once (nibbles, fifth bits, scales) and applied to every token's activation block. Token t's
// float is exactly the single-token kernel's (block_dot_avx512.cpp): the same exact integer block sums, the
// same float operations per block and LaneSum's lane order, per token.

#include "model/kernels/block_dot_avx512_impl.h"
#include "model/kernels/block_dot_kernels.h"

namespace torchllm::kernels {
namespace {

// Tokens per pass: each pass keeps kT tokens' lane accumulators in registers next to the unpacked weights.
constexpr int kMaxTokens = 4;

// kT tokens of a 32-element format (W: Q8_0Weights and the like), as dot_row.
template <typename W>
struct LegacyKernel {
  template <int kT>
  static void run(const uint8_t* weight_row, const uint8_t* activations, int64_t stride, int64_t n,
                  float* out) {
    using Block = typename W::Block;
    using Activation = typename W::Activation;
    const auto* w = reinterpret_cast<const Block*>(weight_row);
    const Activation* a[kT];
    for (int t = 0; t < kT; ++t) a[t] = reinterpret_cast<const Activation*>(activations + t * stride);
    const int64_t blocks = n / kQK;
    __m256 acc[kT];
    for (int t = 0; t < kT; ++t) acc[t] = _mm256_setzero_ps();
    int64_t b = 0;
    for (; b + 8 <= blocks; b += 8) {
      __m512i u[4];
      for (int i = 0; i < 4; ++i) u[i] = W::pair(w[b + 2 * i], w[b + 2 * i + 1]);
      const __m256 w_scale = halves8(w + b, [](const Block& x) { return x.d; });
      __m256 w_min = _mm256_setzero_ps();
      if constexpr (W::kHasMin) w_min = halves8(w + b, [](const Block& x) { return x.m; });
      for (int t = 0; t < kT; ++t) {
        const Activation* at = a[t] + b;
        __m512i p[4];
        for (int i = 0; i < 4; ++i)
          p[i] = offset_products<W::kOffset>(u[i], load_pair(at[2 * i].qs, at[2 * i + 1].qs));
        const __m256 scale = _mm256_mul_ps(w_scale, halves8(at, [](const Activation& x) { return x.d; }));
        __m256 terms = _mm256_mul_ps(scale, _mm256_cvtepi32_ps(block_sums(p)));
        if constexpr (W::kHasMin) {
          terms = _mm256_add_ps(terms,
                                _mm256_mul_ps(w_min, halves8(at, [](const Activation& x) { return x.s; })));
        }
        acc[t] = _mm256_add_ps(acc[t], terms);
      }
    }
    for (int t = 0; t < kT; ++t) {
      Lanes sum;
      _mm256_storeu_ps(sum.lane, acc[t]);
      for (int64_t tail = b; tail < blocks; ++tail) {
        // The block paired with itself; its sum is the low half's.
        const __m512i p =
            offset_products<W::kOffset>(W::pair(w[tail], w[tail]), load_pair(a[t][tail].qs, a[t][tail].qs));
        const int isum = horizontal_sum(_mm512_castsi512_si256(p));
        float term = (half_to_float(w[tail].d) * half_to_float(a[t][tail].d)) * static_cast<float>(isum);
        if constexpr (W::kHasMin) term = term + half_to_float(w[tail].m) * half_to_float(a[t][tail].s);
        sum.add(tail, term);
      }
      out[t] = sum.total();
    }
  }
};

// kT tokens of Q4_K or Q5_K, as dot_scaled_min: groups of four blocks fill lanes 0-3 and 4-7 in turn.
template <typename BlockW, ScaledMinWeights (*unpack)(const BlockW&)>
struct ScaledMinKernel {
  template <int kT>
  static void run(const uint8_t* weight_row, const uint8_t* activations, int64_t stride, int64_t n,
                  float* out) {
    const auto* w = reinterpret_cast<const BlockW*>(weight_row);
    const BlockQ8_K* a[kT];
    for (int t = 0; t < kT; ++t) a[t] = reinterpret_cast<const BlockQ8_K*>(activations + t * stride);
    const int64_t blocks = n / kQK_K;
    __m128 lanes[kT][2];
    for (int t = 0; t < kT; ++t) lanes[t][0] = lanes[t][1] = _mm_setzero_ps();
    int64_t b = 0;
    for (; b + 4 <= blocks; b += 4) {
      ScaledMinWeights u[4];
      for (int i = 0; i < 4; ++i) u[i] = unpack(w[b + i]);
      const __m256 d = scales_and_mins4(w + b);
      const int half = (b / 4) & 1;
      for (int t = 0; t < kT; ++t) {
        ScaledMinIntegers r[4];
        for (int i = 0; i < 4; ++i) r[i] = scaled_min_integers(u[i], a[t][b + i]);
        lanes[t][half] = _mm_add_ps(lanes[t][half], scaled_min_terms4(r, d, a[t] + b));
      }
    }
    for (int t = 0; t < kT; ++t) {
      Lanes sum;
      _mm_storeu_ps(sum.lane, lanes[t][0]);
      _mm_storeu_ps(sum.lane + 4, lanes[t][1]);
      for (int64_t tail = b; tail < blocks; ++tail) {
        const ScaledMinIntegers r = scaled_min_integers(unpack(w[tail]), a[t][tail]);
        sum.add(tail, scaled_min_term(a[t][tail].d, w[tail].d, w[tail].dmin, fold(r.isum), r.imin));
      }
      out[t] = sum.total();
    }
  }
};

using Q4KKernel = ScaledMinKernel<BlockQ4_K, q4_k_weights>;
using Q5KKernel = ScaledMinKernel<BlockQ5_K, q5_k_weights>;

// kT tokens of Q6_K, block by block as dot_q6_k_avx512.
struct Q6KKernel {
  template <int kT>
  static void run(const uint8_t* weight_row, const uint8_t* activations, int64_t stride, int64_t n,
                  float* out) {
    const auto* w = reinterpret_cast<const BlockQ6_K*>(weight_row);
    const BlockQ8_K* a[kT];
    for (int t = 0; t < kT; ++t) a[t] = reinterpret_cast<const BlockQ8_K*>(activations + t * stride);
    Lanes sum[kT];
    for (int64_t b = 0; b < n / kQK_K; ++b) {
      const Q6KWeights u = q6_k_weights(w[b]);
      for (int t = 0; t < kT; ++t)
        sum[t].add(b, scaled_term(a[t][b].d, w[b].d, fold(q6_k_integers(u, a[t][b]))));
    }
    for (int t = 0; t < kT; ++t) out[t] = sum[t].total();
  }
};

// All tokens, kMaxTokens at a time.
template <typename K>
void many(const uint8_t* weight_row, const uint8_t* activations, int64_t stride, int64_t tokens, int64_t n,
          float* out) {
  int64_t t = 0;
  for (; t + kMaxTokens <= tokens; t += kMaxTokens)
    K::template run<kMaxTokens>(weight_row, activations + t * stride, stride, n, out + t);
  const uint8_t* rest = activations + t * stride;
  switch (tokens - t) {
    case 3:
      return K::template run<3>(weight_row, rest, stride, n, out + t);
    case 2:
      return K::template run<2>(weight_row, rest, stride, n, out + t);
    case 1:
      return K::template run<1>(weight_row, rest, stride, n, out + t);
    default:
      return;
  }
}

}  // namespace

#define TORCHLLM_DOT_MANY(name, kernel)                                                           \
  void name(const uint8_t* weight_row, const uint8_t* activation_rows, int64_t activation_stride, \
            int64_t tokens, int64_t n, float* out) {                                              \
    many<kernel>(weight_row, activation_rows, activation_stride, tokens, n, out);                 \
  }

TORCHLLM_DOT_MANY(dot_many_q8_0_avx512, LegacyKernel<Q8_0Weights>)
TORCHLLM_DOT_MANY(dot_many_q4_0_avx512, LegacyKernel<Q4_0Weights>)
TORCHLLM_DOT_MANY(dot_many_q5_0_avx512, LegacyKernel<Q5_0Weights>)
TORCHLLM_DOT_MANY(dot_many_q4_1_avx512, LegacyKernel<Q4_1Weights>)
TORCHLLM_DOT_MANY(dot_many_q5_1_avx512, LegacyKernel<Q5_1Weights>)
TORCHLLM_DOT_MANY(dot_many_q4_k_avx512, Q4KKernel)
TORCHLLM_DOT_MANY(dot_many_q5_k_avx512, Q5KKernel)
TORCHLLM_DOT_MANY(dot_many_q6_k_avx512, Q6KKernel)

#undef TORCHLLM_DOT_MANY

}  // namespace torchllm::kernels
