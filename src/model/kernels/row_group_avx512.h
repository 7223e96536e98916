#pragma once

// What the AVX-512 row-group kernels (row_group_q4_k_q5_k_avx512.cpp, row_group_q6_k_avx512.cpp) share:
// LaneSum's lanes for 16 rows, the dpbusd with a broadcast memory operand, and the loop over token batches,
// groups, super-blocks and token chunks. Included only by those files and compiled there with AVX-512;
// everything has internal linkage (see block_dot_avx512_impl.h for why).
//
// Loop order: token batches of up to 32 (their LaneSum lanes live on the stack), then groups, super-blocks,
// and chunks of up to 8 tokens: a super-block is read from memory once and stays in L1 for the batch's other
// chunks, its per-row factors are formed once for every chunk, and each unpacked weight vector feeds every
// token of a chunk.

#include <algorithm>
#include <cstdint>

#include "model/kernels/avx512_intrinsics.h"
#include "model/kernels/row_groups.h"

namespace torchllm::kernels {
namespace {

constexpr int kMaxChunk = 8;   // a chunk's accumulators and the weights fit the 32 registers
constexpr int kMaxBatch = 32;  // tokens whose lanes are on the stack: 32 * 8 * 64 bytes

// LaneSum (block_dot.h) for the 16 rows of a group: super-block b's term goes to lane b % 8.
struct alignas(64) Lanes16 {
  float lane[8][kGroupRows];

  // LaneSum's lanes start at +0, which turns a -0 term into +0: the first term of each lane is added to +0.
  void add(int64_t b, __m512 term) {
    float* l = lane[b & 7];
    _mm512_store_ps(l, _mm512_add_ps(b < 8 ? _mm512_setzero_ps() : _mm512_load_ps(l), term));
  }
  // The lanes added pairwise, after `blocks` super-blocks (lanes no block reached are +0).
  __m512 total(int64_t blocks) const {
    const auto l = [&](int i) { return i < blocks ? _mm512_load_ps(lane[i]) : _mm512_setzero_ps(); };
    return _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(l(0), l(1)), _mm512_add_ps(l(2), l(3))),
                         _mm512_add_ps(_mm512_add_ps(l(4), l(5)), _mm512_add_ps(l(6), l(7))));
  }
};

// acc + dpbusd(w, the 32-bit value at p broadcast), with the broadcast folded into the instruction's {1to16}
// memory operand (GCC keeps a separate vpbroadcastd otherwise).
inline __m512i dpbusd_broadcast(__m512i acc, __m512i w, const int8_t* p) {
  asm("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*reinterpret_cast<const int32_t*>(p)));
  return acc;
}

// One chunk of K tokens (BlockQ8_K super-block b at a + t * stride, t < K) against super-block `w` of a
// group, whose factors are `f`: each token's term added to lanes[t].
template <typename Block, typename Factors>
using DotChunkFn = void (*)(const Block& w, const Factors& f, const uint8_t* a, int64_t stride, int64_t b,
                            Lanes16* lanes);

// The RowGroupDotFn contract (row_groups.h) for one block type: `factors` forms a super-block's per-row
// factors (and may prefetch), chunk[K] runs K tokens.
template <typename Block, typename Factors, Factors (*factors)(const Block&)>
inline void dot_row_groups(const DotChunkFn<Block, Factors> (&chunk)[kMaxChunk + 1], const uint8_t* groups,
                           int64_t group_count, const uint8_t* activations, int64_t activation_stride,
                           int64_t tokens, int64_t n, float* out, int64_t out_stride) {
  const int64_t blocks = n / kQK_K;
  Lanes16 lanes[kMaxBatch];
  for (int64_t t0 = 0; t0 < tokens; t0 += kMaxBatch) {
    const int batch = static_cast<int>(std::min<int64_t>(kMaxBatch, tokens - t0));
    // Chunks of nearly equal size: 9 tokens run as 5 + 4, not 8 + 1.
    const int chunks = (batch + kMaxChunk - 1) / kMaxChunk;
    const uint8_t* batch_activations = activations + t0 * activation_stride;
    for (int64_t g = 0; g < group_count; ++g) {
      const auto* w = reinterpret_cast<const Block*>(groups) + g * blocks;
      for (int64_t b = 0; b < blocks; ++b) {
        const Factors f = factors(w[b]);
        for (int k = 0, t = 0; k < chunks; ++k) {
          const int size = batch / chunks + (k < batch % chunks ? 1 : 0);
          chunk[size](w[b], f, batch_activations + t * activation_stride, activation_stride, b, lanes + t);
          t += size;
        }
      }
      for (int t = 0; t < batch; ++t)
        _mm512_storeu_ps(out + (t0 + t) * out_stride + g * kGroupRows, lanes[t].total(blocks));
    }
  }
}

}  // namespace
}  // namespace torchllm::kernels
