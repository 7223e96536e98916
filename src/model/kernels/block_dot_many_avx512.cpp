// AVX-512 VNNI block dot products of one weight row with several tokens' activation rows: each weight block
// is unpacked once (nibbles, fifth bits, scales) and applied to every token's activation block. Token t's
// float is exactly the single-token kernel's (block_dot_avx512.cpp): the same exact integer block sums, the
// same float operations per block and LaneSum's lane order, per token.

#include "model/kernels/block_dot_avx512_impl.h"
#include "model/kernels/block_dot_avx512_quads.h"
#include "model/kernels/block_dot_kernels.h"
#include "model/kernels/weight_prefetch.h"

namespace torchllm::kernels {
namespace {

// Tokens per pass: each pass keeps kT tokens' lane accumulators in registers next to the unpacked weights.
constexpr int kMaxTokens = 4;
// Token quads per pass of the K kernels: eight tokens measured ~25% faster per token than four; sixteen were
// slower (register spills, and their activations outgrow L1 on 3072-element rows).
constexpr int kMaxQuads = 2;

// ---- The K formats: four blocks x four tokens reduced together ----
//
// The combine tree of block_dot_avx512_quads.h leaves token t's block i in lane 4t + i. The float terms of
// the 16 pairs are then formed in one vector with the single-token kernel's operations, and lane 4t + i of a
// token quad's accumulator is token t's LaneSum lane 4 * half + i.

// Four tokens' activation scales, lane 4t + i = token t's block b + i. Built from scalars: measured ~4%
// faster than a gather.
inline __m512 activation_scales(const BlockQ8_K* const* tokens, int64_t b) {
  const auto token = [&](int t) {
    return _mm_set_ps(tokens[t][b + 3].d, tokens[t][b + 2].d, tokens[t][b + 1].d, tokens[t][b].d);
  };
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set_m128(token(1), token(0))),
                            _mm256_set_m128(token(3), token(2)), 1);
}

// Lanes 0-7 add up to the Σ min * bsum of `lo`, lanes 8-15 to that of `hi`.
inline __m512i min_sums(const ScaledMinBlock& w, const BlockQ8_K& lo, const BlockQ8_K& hi) {
  const __m512i bsums = _mm512_inserti64x4(
      _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(lo.bsums))),
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(hi.bsums)), 1);
  return _mm512_madd_epi16(w.mins, bsums);
}

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
      prefetch_weights_ahead<8 * sizeof(Block)>(w + b);
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
      prefetch_weights_ahead<4 * sizeof(BlockW)>(w + b);
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

  // kG quads of tokens.
  template <int kG>
  static void quads(const uint8_t* weight_row, const uint8_t* activations, int64_t stride, int64_t n,
                    float* out) {
    const auto* w = reinterpret_cast<const BlockW*>(weight_row);
    const BlockQ8_K* a[4 * kG];
    for (int t = 0; t < 4 * kG; ++t) a[t] = reinterpret_cast<const BlockQ8_K*>(activations + t * stride);
    const int64_t blocks = n / kQK_K;
    __m512 acc[kG][2];
    for (int g = 0; g < kG; ++g) acc[g][0] = acc[g][1] = _mm512_setzero_ps();
    int64_t b = 0;
    for (; b + 4 <= blocks; b += 4) {
      prefetch_weights_ahead<4 * sizeof(BlockW)>(w + b);
      // Per quad: blocks 0-1 (then 2-3) combined, blocks 0-1 kept, and the four blocks' totals.
      __m512i pair_sum[kG], pair_min[kG], half_sum[kG], half_min[kG], sums[kG], mins[kG];
      for (int i = 0; i < 4; ++i) {
        const ScaledMinBlock u = scaled_min_block<BlockW, unpack>(w[b + i]);
        for (int g = 0; g < kG; ++g) {
          const BlockQ8_K* const* q = a + 4 * g;
          const int64_t k = b + i;
          __m512i s = combine_quad(scaled_sum(u, q[0][k]), scaled_sum(u, q[1][k]), scaled_sum(u, q[2][k]),
                                   scaled_sum(u, q[3][k]));
          __m512i m = combine<4>(min_sums(u, q[0][k], q[2][k]), min_sums(u, q[1][k], q[3][k]));
          if (i % 2 == 0) {
            pair_sum[g] = s;
            pair_min[g] = m;
            continue;
          }
          s = combine<1>(pair_sum[g], s);
          m = combine<1>(pair_min[g], m);
          if (i == 1) {
            half_sum[g] = s;
            half_min[g] = m;
          } else {
            sums[g] = combine<2>(half_sum[g], s);
            mins[g] = combine<2>(half_min[g], m);
          }
        }
      }
      // [d_0, dmin_0, d_1, dmin_1, ...] -> d_i and dmin_i in lanes 4t + i.
      const __m512 dm = _mm512_castps256_ps512(scales_and_mins4(w + b));
      const __m512 d =
          _mm512_permutexvar_ps(_mm512_set_epi32(6, 4, 2, 0, 6, 4, 2, 0, 6, 4, 2, 0, 6, 4, 2, 0), dm);
      const __m512 dmin =
          _mm512_permutexvar_ps(_mm512_set_epi32(7, 5, 3, 1, 7, 5, 3, 1, 7, 5, 3, 1, 7, 5, 3, 1), dm);
      const int half = (b / 4) & 1;
      for (int g = 0; g < kG; ++g) {
        const __m512 d_a = activation_scales(a + 4 * g, b);
        // The reference's (d_a * d) * isum - (d_a * dmin) * imin.
        const __m512 terms =
            _mm512_sub_ps(_mm512_mul_ps(_mm512_mul_ps(d_a, d), _mm512_cvtepi32_ps(sums[g])),
                          _mm512_mul_ps(_mm512_mul_ps(d_a, dmin), _mm512_cvtepi32_ps(mins[g])));
        acc[g][half] = _mm512_add_ps(acc[g][half], terms);
      }
    }
    Lanes sum[4 * kG];
    quad_lanes<kG>(acc, sum);
    for (int t = 0; t < 4 * kG; ++t) {
      for (int64_t tail = b; tail < blocks; ++tail) {
        const ScaledMinIntegers r = scaled_min_integers(unpack(w[tail]), a[t][tail]);
        sum[t].add(tail, scaled_min_term(a[t][tail].d, w[tail].d, w[tail].dmin, fold(r.isum), r.imin));
      }
      out[t] = sum[t].total();
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
      prefetch_weights_ahead<sizeof(BlockQ6_K)>(w + b);
      const Q6KWeights u = q6_k_weights(w[b]);
      for (int t = 0; t < kT; ++t)
        sum[t].add(b, scaled_term(a[t][b].d, w[b].d, fold(q6_k_integers(u, a[t][b]))));
    }
    for (int t = 0; t < kT; ++t) out[t] = sum[t].total();
  }

  // kG quads of tokens, four blocks at a time.
  template <int kG>
  static void quads(const uint8_t* weight_row, const uint8_t* activations, int64_t stride, int64_t n,
                    float* out) {
    const auto* w = reinterpret_cast<const BlockQ6_K*>(weight_row);
    const BlockQ8_K* a[4 * kG];
    for (int t = 0; t < 4 * kG; ++t) a[t] = reinterpret_cast<const BlockQ8_K*>(activations + t * stride);
    const int64_t blocks = n / kQK_K;
    __m512 acc[kG][2];
    for (int g = 0; g < kG; ++g) acc[g][0] = acc[g][1] = _mm512_setzero_ps();
    int64_t b = 0;
    for (; b + 4 <= blocks; b += 4) {
      __m512i pair[kG], half[kG], sums[kG];
      for (int i = 0; i < 4; ++i) {
        const Q6KBlock u = q6_k_block(w[b + i]);
        for (int g = 0; g < kG; ++g) {
          const BlockQ8_K* const* q = a + 4 * g;
          const int64_t k = b + i;
          __m512i s = combine_quad(q6_k_sum(u, q[0][k]), q6_k_sum(u, q[1][k]), q6_k_sum(u, q[2][k]),
                                   q6_k_sum(u, q[3][k]));
          if (i % 2 == 0) {
            pair[g] = s;
            continue;
          }
          s = combine<1>(pair[g], s);
          if (i == 1) {
            half[g] = s;
          } else {
            sums[g] = combine<2>(half[g], s);
          }
        }
      }
      alignas(16) uint16_t h[8] = {w[b].d, w[b + 1].d, w[b + 2].d, w[b + 3].d, 0, 0, 0, 0};
      const __m512 d = per_block(
          _mm512_castps256_ps512(_mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(h)))));
      const int lanes = (b / 4) & 1;
      for (int g = 0; g < kG; ++g) {
        // The reference's (d_a * d) * isum.
        const __m512 d_a = activation_scales(a + 4 * g, b);
        acc[g][lanes] =
            _mm512_add_ps(acc[g][lanes], _mm512_mul_ps(_mm512_mul_ps(d_a, d), _mm512_cvtepi32_ps(sums[g])));
      }
    }
    Lanes sum[4 * kG];
    quad_lanes<kG>(acc, sum);
    for (int t = 0; t < 4 * kG; ++t) {
      for (int64_t tail = b; tail < blocks; ++tail)
        sum[t].add(tail, scaled_term(a[t][tail].d, w[tail].d,
                                     fold(q6_k_integers(q6_k_weights(w[tail]), a[t][tail]))));
      out[t] = sum[t].total();
    }
  }
};

// All tokens: kMaxQuads quads of four at a time, then a single quad, then a per-token pass of up to three.
template <typename K>
void many_quads(const uint8_t* weight_row, const uint8_t* activations, int64_t stride, int64_t tokens,
                int64_t n, float* out) {
  int64_t t = 0;
  for (; t + 4 * kMaxQuads <= tokens; t += 4 * kMaxQuads)
    K::template quads<kMaxQuads>(weight_row, activations + t * stride, stride, n, out + t);
  static_assert(kMaxQuads == 2, "the remaining tokens take at most one more quad");
  if (t + 4 <= tokens) {
    K::template quads<1>(weight_row, activations + t * stride, stride, n, out + t);
    t += 4;
  }
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

#define TORCHLLM_DOT_MANY_QUADS(name, kernel)                                                     \
  void name(const uint8_t* weight_row, const uint8_t* activation_rows, int64_t activation_stride, \
            int64_t tokens, int64_t n, float* out) {                                              \
    many_quads<kernel>(weight_row, activation_rows, activation_stride, tokens, n, out);           \
  }

TORCHLLM_DOT_MANY(dot_many_q8_0_avx512, LegacyKernel<Q8_0Weights>)
TORCHLLM_DOT_MANY(dot_many_q4_0_avx512, LegacyKernel<Q4_0Weights>)
TORCHLLM_DOT_MANY(dot_many_q5_0_avx512, LegacyKernel<Q5_0Weights>)
TORCHLLM_DOT_MANY(dot_many_q4_1_avx512, LegacyKernel<Q4_1Weights>)
TORCHLLM_DOT_MANY(dot_many_q5_1_avx512, LegacyKernel<Q5_1Weights>)
TORCHLLM_DOT_MANY_QUADS(dot_many_q4_k_avx512, Q4KKernel)
TORCHLLM_DOT_MANY_QUADS(dot_many_q5_k_avx512, Q5KKernel)
TORCHLLM_DOT_MANY_QUADS(dot_many_q6_k_avx512, Q6KKernel)

#undef TORCHLLM_DOT_MANY
#undef TORCHLLM_DOT_MANY_QUADS

}  // namespace torchllm::kernels
