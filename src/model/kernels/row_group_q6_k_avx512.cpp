// AVX-512 VNNI dot products of Q6_K row groups (row_groups.h) with Q8_K activations: the 16 rows of a group
// sit in the 16 int32 lanes, so one dpbusd multiplies four consecutive 6-bit weights of every row (unsigned
// operand) by the same four activation bytes of one token (signed operand, a 32-bit broadcast from memory).
//
// The weights are the 6-bit w = q + 32 in 0..63. Each 16-element sub-block's dpbusd sum starts at
// -32 bsum_j, the token's sum of the sub-block's activations, so it ends at the reference's
// sub_j = Σ_{i∈j} (w_i - 32) a_i, |sub_j| <= 16 * 32 * 128 = 2^16 (its partial sums < 2^18);
// isum = Σ_j sc_j sub_j (vpmulld), |isum| <= 16 * 128 * 2^16 = 2^27: every sum is exact in int32. Each
// token's float term is the reference's (d_a * d) * isum, added in LaneSum's order (block b to lane b % 8,
// lanes added pairwise at the end), so every output is bit for bit dot_q6_k_scalar.
//
// Loop order (row_group_avx512.h): token batches, groups, super-blocks (3392 bytes, 53 cache lines), chunks
// of up to 8 tokens.

#include <cstddef>
#include <utility>

#include "model/kernels/row_group_avx512.h"

namespace torchllm::kernels {
namespace {

// The super-block kPrefetchDistance on (the next groups' past the last: the model's next call reads them),
// which the hardware prefetcher alone does not fetch in time from DRAM, is prefetched a line with each vector
// load, spread over the super-block's work (row_group_bench --dram): 53 prefetches at once measured 1.3x
// slower at 16 tokens; 2 ahead measured fastest at 1 token, 3 to 12 up to 1.5x slower.
constexpr int kPrefetchDistance = 2;

inline void prefetch_ahead(const void* p) {
  _mm_prefetch(static_cast<const char*>(p) + kPrefetchDistance * sizeof(BlockQ6_Kx16), _MM_HINT_T0);
}

// The super-block's per-row factors, shared by every token.
struct BlockFactors {
  __m512i scale[16];  // sc_j as int32
  __m512 d;
};

inline BlockFactors block_factors(const BlockQ6_Kx16& w) {
  for (int l = 0; l < static_cast<int>(sizeof w.scales + sizeof w.d); l += 64) {
    prefetch_ahead(reinterpret_cast<const char*>(w.scales) + l);
  }
  BlockFactors f;
  for (int j = 0; j < 16; ++j) {
    f.scale[j] = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales[j])));
  }
  f.d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.d)));
  return f;
}

// The 32-bit value at p in every lane, loaded from memory (GCC otherwise extracts it from the vector that
// stored it, with shuffles).
inline __m512i broadcast_load(const int32_t* p) {
  __m512i v;
  asm("vpbroadcastd %1, %0" : "=v"(v) : "m"(*p));
  return v;
}

// -32 bsum_j as int32 for the token's 16 sub-blocks: the start of each sub-block's dpbusd sum.
inline void sub_block_offsets(const BlockQ8_K& a, int32_t* offsets) {
  const __m512i sums = _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums)));
  _mm512_store_si512(offsets, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sums, 5)));
}

// (mask & a) | (~mask & b), bitwise.
inline __m512i select(__m512i mask, __m512i a, __m512i b) {
  return _mm512_ternarylogic_epi32(a, b, mask, 0xE4);
}

// The weights of quarters m and m + 2 (m = 0 or 1) of half h, group i: elements 128h + 32m + 4i + (0..3) and
// 64 on, from ql_a (m = 0) or ql_b (m = 1) and qh's bit pairs m and m + 2. The qh pairs are masked before
// the 32-bit shifts, so that no bit of a neighbour byte lands in bits 4-7.
struct WeightPair {
  __m512i low, high;
};

template <int M>
inline WeightPair weight_pair(const BlockQ6_Kx16& w, int h, int i, __m512i low4, __m512i pairs02) {
  const uint8_t* ql_bytes = M == 0 ? w.ql_a[h][i] : w.ql_b[h][i];
  prefetch_ahead(ql_bytes);
  if (M == 0) prefetch_ahead(w.qh[h][i]);
  const __m512i ql = _mm512_loadu_si512(ql_bytes);
  const __m512i qh = _mm512_loadu_si512(w.qh[h][i]);
  if (M == 0) {
    const __m512i bits = _mm512_and_si512(qh, pairs02);  // bit pairs 0 and 2 (qh bits 0-1, 4-5)
    return {select(low4, ql, _mm512_slli_epi32(bits, 4)), select(low4, _mm512_srli_epi32(ql, 4), bits)};
  }
  const __m512i bits = _mm512_andnot_si512(pairs02, qh);  // bit pairs 1 and 3 (qh bits 2-3, 6-7)
  return {select(low4, ql, _mm512_slli_epi32(bits, 2)),
          select(low4, _mm512_srli_epi32(ql, 4), _mm512_srli_epi32(bits, 2))};
}

// Step = 4h + 2s + M (M = 0 or 1): quarters M and M + 2 of half h, sub-block s (elements 16s..16s+15 of
// each quarter), for K tokens: isum[t] += sc_j sub_j for the two sub-blocks j = 8h + 2M + s and j + 4. The
// step is a template argument so that every address is a constant offset from w or a token's block.
template <int K, int Step>
inline void quarter_pair(const BlockQ6_Kx16& w, const BlockFactors& f, const BlockQ8_K* const* act,
                         const int32_t (*offsets)[16], __m512i* isum) {
  constexpr int h = Step / 4, s = Step / 2 % 2, M = Step % 2;
  constexpr int j = 8 * h + 2 * M + s;
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i pairs02 = _mm512_set1_epi8(0x33);
  __m512i low[K], high[K];
#pragma GCC unroll 8
  for (int t = 0; t < K; ++t) {
    low[t] = broadcast_load(&offsets[t][j]);
    high[t] = broadcast_load(&offsets[t][j + 4]);
  }
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    const int i = 4 * s + k;
    const WeightPair q = weight_pair<M>(w, h, i, low4, pairs02);
    const int element = 128 * h + 32 * M + 4 * i;
#pragma GCC unroll 8
    for (int t = 0; t < K; ++t) {
      low[t] = dpbusd_broadcast(low[t], q.low, act[t]->qs + element);
      high[t] = dpbusd_broadcast(high[t], q.high, act[t]->qs + element + 64);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < K; ++t) {
    isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(low[t], f.scale[j]));
    isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(high[t], f.scale[j + 4]));
    // Opaque to GCC, which otherwise reassociates the steps' sums into one tree at the end and keeps every
    // step's accumulators live until then (spilled).
    asm("" : "+v"(isum[t]));
  }
  // Keeps GCC from hoisting the next step's loads above this one's work.
  asm volatile("" ::: "memory");
}

template <int K, int... Steps>
inline void quarter_pairs(const BlockQ6_Kx16& w, const BlockFactors& f, const BlockQ8_K* const* act,
                          const int32_t (*offsets)[16], __m512i* isum, std::integer_sequence<int, Steps...>) {
  (quarter_pair<K, Steps>(w, f, act, offsets, isum), ...);
}

// K tokens (BlockQ8_K super-block b at a + t * stride) against one super-block of the group: each token's
// term added to its lane b % 8.
template <int K>
void dot_chunk(const BlockQ6_Kx16& w, const BlockFactors& f, const uint8_t* a, int64_t stride, int64_t b,
               Lanes16* lanes) {
  const BlockQ8_K* act[K];
  alignas(64) int32_t offsets[K][16];
  __m512i isum[K];
#pragma GCC unroll 8
  for (int t = 0; t < K; ++t) {
    act[t] = reinterpret_cast<const BlockQ8_K*>(a + t * stride) + b;
    sub_block_offsets(*act[t], offsets[t]);
    isum[t] = _mm512_setzero_si512();
  }
  quarter_pairs<K>(w, f, act, offsets, isum, std::make_integer_sequence<int, 8>());
#pragma GCC unroll 8
  for (int t = 0; t < K; ++t) {
    const __m512 term =
        _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(act[t]->d), f.d), _mm512_cvtepi32_ps(isum[t]));
    lanes[t].add(b, term);
  }
}

constexpr DotChunkFn<BlockQ6_Kx16, BlockFactors> kDotChunk[kMaxChunk + 1] = {
    nullptr,      dot_chunk<1>, dot_chunk<2>, dot_chunk<3>, dot_chunk<4>,
    dot_chunk<5>, dot_chunk<6>, dot_chunk<7>, dot_chunk<8>};

}  // namespace

void row_group_dot_q6_k_avx512(const uint8_t* groups, int64_t group_count, const uint8_t* activations,
                               int64_t activation_stride, int64_t tokens, int64_t n, float* out,
                               int64_t out_stride) {
  dot_row_groups<BlockQ6_Kx16, BlockFactors, block_factors>(kDotChunk, groups, group_count, activations,
                                                            activation_stride, tokens, n, out, out_stride);
}

}  // namespace torchllm::kernels
