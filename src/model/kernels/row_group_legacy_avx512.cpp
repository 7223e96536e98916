// AVX-512 VNNI dot products of Q8_0 and Q4_0 row groups (row_groups.h) with Q8_0 activations: the group's 16
// rows sit in the 16 int32 lanes, so one dpbusd multiplies four quants of every row (the unsigned operand:
// Q8_0's stored + 128, Q4_0's nibbles) by the same four activation bytes of one token (signed, a 32-bit
// broadcast from memory).
//
// Per 32-element block and token, as the scalar reference (legacy_quant_dot_scalar.cpp), in every row lane:
//   isum = Σ stored · a - offset · Σ a = Σ q · a   offset 128 (Q8_0) or 8 (Q4_0, whose q is the nibble - 8);
//                                                  exact: |Σ stored · a| <= 32 * 255 * 128
//   term = (d_w * d_a) * isum   two multiplies, no FMA
// and the terms are added in LaneSum's order (block b to lane b % 8, lanes added pairwise at the end), so
// every output is bit for bit dot_q8_0_scalar or dot_q4_0_scalar. offset · Σ a is formed once per call for
// every token and block.
//
// Loop order: token batches of up to 32, groups, pairs of blocks (1088 bytes of Q8_0, 576 of Q4_0), chunks of
// up to 8 tokens, as row_group_avx512.h's dot_row_groups.

#include <algorithm>
#include <vector>

#include "model/kernels/row_group_avx512.h"

namespace torchllm::kernels {
namespace {

constexpr int64_t kPairElements = 2 * kQK;

// The pair about 8.5 KB on (the next groups' past the last: the model's next call reads them), a line with
// each weight vector load and the scales' line with the scales: about as far ahead as the Q4_K kernel
// reaches (row_group_q4_k_q5_k_avx512.cpp).
template <typename Pair>
inline void prefetch_ahead(const void* line) {
  constexpr int64_t kDistance = 8 * 1088 / sizeof(Pair) * sizeof(Pair);
  _mm_prefetch(static_cast<const char*>(line) + kDistance, _MM_HINT_T0);
}

// Block k of pair w (block 2u + k) against K tokens' Q8_0 blocks act[t]: Σ stored · a into acc[p][t], the
// weight vectors spread over the P independent chains p.
template <int K, int P>
inline void multiply_block(const BlockQ8_0x16& w, int k, const BlockQ8_0* const (&act)[K],
                           __m512i (&acc)[P][K]) {
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    prefetch_ahead<BlockQ8_0x16>(w.qs[k][i]);
    const __m512i q = _mm512_loadu_si512(w.qs[k][i]);
#pragma GCC unroll 8
    for (int t = 0; t < K; ++t) acc[i % P][t] = dpbusd_broadcast(acc[i % P][t], q, act[t]->qs + 4 * i);
  }
}

template <int K, int P>
inline void multiply_block(const BlockQ4_0x16& w, int k, const BlockQ8_0* const (&act)[K],
                           __m512i (&acc)[P][K]) {
  const __m512i low4 = _mm512_set1_epi8(0x0F);
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    prefetch_ahead<BlockQ4_0x16>(w.qs[k][i]);
    const __m512i q = _mm512_loadu_si512(w.qs[k][i]);
    const __m512i q_lo = _mm512_and_si512(q, low4);                        // elements 4i + j
    const __m512i q_hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), low4);  // elements 16 + 4i + j
#pragma GCC unroll 8
    for (int t = 0; t < K; ++t) {
      acc[(2 * i) % P][t] = dpbusd_broadcast(acc[(2 * i) % P][t], q_lo, act[t]->qs + 4 * i);
      acc[(2 * i + 1) % P][t] = dpbusd_broadcast(acc[(2 * i + 1) % P][t], q_hi, act[t]->qs + 16 + 4 * i);
    }
  }
}

// offset · Σ a of each block of n elements of `tokens` Q8_0 rows `stride` bytes apart: out[t * blocks + b].
void offsets(const uint8_t* activations, int64_t stride, int64_t tokens, int64_t n, int32_t offset,
             int32_t* out) {
  const int64_t blocks = n / kQK;
  const __m256i ones = _mm256_set1_epi8(1);
  for (int64_t t = 0; t < tokens; ++t) {
    const auto* a = reinterpret_cast<const BlockQ8_0*>(activations + t * stride);
    for (int64_t b = 0; b < blocks; ++b) {
      const __m256i quants = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b].qs));
      const __m256i sums = _mm256_dpbusd_epi32(_mm256_setzero_si256(), ones, quants);  // 8 sums of 4
      const __m128i half = _mm_add_epi32(_mm256_castsi256_si128(sums), _mm256_extracti128_si256(sums, 1));
      const __m128i quarter = _mm_add_epi32(half, _mm_unpackhi_epi64(half, half));
      out[t * blocks + b] = offset * (_mm_cvtsi128_si32(quarter) + _mm_extract_epi32(quarter, 1));
    }
  }
}

// K tokens (Q8_0 blocks 2u and 2u + 1 at a + t * stride; their offsets at offset + t * blocks) against pair
// u of the group: each token's two terms added to its lanes.
template <typename Pair, int K>
void dot_chunk(const Pair& w, const uint8_t* a, int64_t stride, const int32_t* offset, int64_t blocks,
               int64_t u, Lanes16* lanes) {
  // Independent dpbusd chains per token, so that few tokens still keep ~8 chains in flight.
  constexpr int P = K == 1 ? 4 : K < 4 ? 2 : 1;
  prefetch_ahead<Pair>(w.d);
  for (int k = 0; k < 2; ++k) {
    const int64_t b = 2 * u + k;
    const BlockQ8_0* act[K];
#pragma GCC unroll 8
    for (int t = 0; t < K; ++t) act[t] = reinterpret_cast<const BlockQ8_0*>(a + t * stride) + b;
    __m512i acc[P][K];
    for (int p = 0; p < P; ++p) {
#pragma GCC unroll 8
      for (int t = 0; t < K; ++t) acc[p][t] = _mm512_setzero_si512();
    }
    multiply_block<K, P>(w, k, act, acc);
    const __m512 d_w = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.d[k])));
#pragma GCC unroll 8
    for (int t = 0; t < K; ++t) {
      for (int p = 1; p < P; ++p) acc[0][t] = _mm512_add_epi32(acc[0][t], acc[p][t]);
      const __m512i isum = _mm512_sub_epi32(acc[0][t], _mm512_set1_epi32(offset[t * blocks + b]));
      const __m512 d_a = _mm512_set1_ps(_cvtsh_ss(act[t]->d));
      lanes[t].add(b, _mm512_mul_ps(_mm512_mul_ps(d_w, d_a), _mm512_cvtepi32_ps(isum)));
    }
  }
}

template <typename Pair>
using DotChunk = void (*)(const Pair& w, const uint8_t* a, int64_t stride, const int32_t* offset,
                          int64_t blocks, int64_t u, Lanes16* lanes);
template <typename Pair>
constexpr DotChunk<Pair> kDotChunk[kMaxChunk + 1] = {nullptr,
                                                     dot_chunk<Pair, 1>,
                                                     dot_chunk<Pair, 2>,
                                                     dot_chunk<Pair, 3>,
                                                     dot_chunk<Pair, 4>,
                                                     dot_chunk<Pair, 5>,
                                                     dot_chunk<Pair, 6>,
                                                     dot_chunk<Pair, 7>,
                                                     dot_chunk<Pair, 8>};

// The RowGroupDotFn contract for one pair layout, whose stored quants exceed q by `offset_factor`.
template <typename Pair>
void dot_pairs(int32_t offset_factor, const uint8_t* groups, int64_t group_count, const uint8_t* activations,
               int64_t activation_stride, int64_t tokens, int64_t n, float* out, int64_t out_stride) {
  const int64_t pairs = n / kPairElements;
  const int64_t blocks = n / kQK;
  Lanes16 lanes[kMaxBatch];
  thread_local std::vector<int32_t> offset;
  for (int64_t t0 = 0; t0 < tokens; t0 += kMaxBatch) {
    const int batch = static_cast<int>(std::min<int64_t>(kMaxBatch, tokens - t0));
    const uint8_t* batch_activations = activations + t0 * activation_stride;
    offset.resize(static_cast<size_t>(batch * blocks));
    offsets(batch_activations, activation_stride, batch, n, offset_factor, offset.data());
    // Chunks of nearly equal size: 9 tokens run as 5 + 4, not 8 + 1.
    const int chunks = (batch + kMaxChunk - 1) / kMaxChunk;
    for (int64_t g = 0; g < group_count; ++g) {
      const auto* w = reinterpret_cast<const Pair*>(groups) + g * pairs;
      for (int64_t u = 0; u < pairs; ++u) {
        for (int k = 0, t = 0; k < chunks; ++k) {
          const int size = batch / chunks + (k < batch % chunks ? 1 : 0);
          kDotChunk<Pair>[size](w[u], batch_activations + t * activation_stride, activation_stride,
                                offset.data() + t * blocks, blocks, u, lanes + t);
          t += size;
        }
      }
      for (int t = 0; t < batch; ++t)
        _mm512_storeu_ps(out + (t0 + t) * out_stride + g * kGroupRows, lanes[t].total(blocks));
    }
  }
}

}  // namespace

void row_group_dot_q8_0_avx512(const uint8_t* groups, int64_t group_count, const uint8_t* activations,
                               int64_t activation_stride, int64_t tokens, int64_t n, float* out,
                               int64_t out_stride) {
  dot_pairs<BlockQ8_0x16>(128, groups, group_count, activations, activation_stride, tokens, n, out,
                          out_stride);
}

void row_group_dot_q4_0_avx512(const uint8_t* groups, int64_t group_count, const uint8_t* activations,
                               int64_t activation_stride, int64_t tokens, int64_t n, float* out,
                               int64_t out_stride) {
  dot_pairs<BlockQ4_0x16>(8, groups, group_count, activations, activation_stride, tokens, n, out, out_stride);
}

}  // namespace torchllm::kernels
