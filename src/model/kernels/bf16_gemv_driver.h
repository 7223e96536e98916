#pragma once

// The loop shared by the bf16_gemv kernels, included by each ISA's file. Everything here has internal
// linkage (static, or an unnamed namespace), so each file keeps its own copy built for its instruction set
// (see bf16_gemv_kernels.h).
//
// A `Dot` supplies `kActivationElementBytes` (the size of an activation element as it reads them: 2 for
// bfloat16, 4 for x_pairs), `template <int R> static constexpr int kWeightRows` (how many weight rows it
// takes at once against R activation rows: 1 to 4) and `template <int R, int N> static void block(const
// Bf16GemvArgs&, int64_t row0, const uint16_t* w, float (&sums)[R][N])`: the dot products of activation rows
// row0..row0+R-1 with the N weight rows at w.

#include <cstdint>
#include <cstring>

#include "model/kernels/bf16_bits.h"
#include "model/kernels/bf16_gemv_kernels.h"

namespace torchllm::kernels {
namespace {

// Activation rows go over each weight row in groups of at most kRowGroup (their sums fill the registers), and
// of at most kActivationBytes of activations: those are reread for every weight row, so they must stay in L1
// next to the streaming weight. 8 rows of a 3072-wide bf16 input (48 KB) in one group streamed at half the
// rate of 1024-wide ones here; in groups of 4 (24 KB), at 1.6 times that (16 or 32 KB: a little less).
constexpr int64_t kRowGroup = 8;
constexpr int64_t kActivationBytes = 24 << 10;
// Weight rows per outer step: all row groups go over these before the next ones, so each weight row comes
// from memory once and from cache after that. 12 splits evenly into blocks of 1-4 rows.
constexpr int64_t kWeightStep = 12;

// How far ahead of its loads a kernel prefetches the weight (the rest of the row and the rows after it). The
// hardware prefetcher alone kept up with one activation row, but fell behind with 4-8, where each chunk takes
// longer to compute: 4 KB ahead gained 10-30% there and nothing was lost for one row (2 KB: a bit less).
constexpr uintptr_t kPrefetchBytes = 4096;

// Through an integer, as the address may lie past the end of the weight (a prefetch never faults).
inline void prefetch_ahead(const void* p) {
  __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(p) + kPrefetchBytes));
}

// Not std::min/max: see bf16_gemv_kernels.h on templates from outside.
inline int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t max_i64(int64_t a, int64_t b) { return a > b ? a : b; }

template <class Dot, int R, int N>
void emit_block(const Bf16GemvArgs& a, int64_t row0, int64_t o) {
  float sums[R][N];
  Dot::template block<R, N>(a, row0, a.weight + o * a.in, sums);
  for (int n = 0; n < N; ++n) {
    const float bias = a.bias ? bf16_bits_to_float(a.bias[o + n]) : 0.0f;
    for (int r = 0; r < R; ++r) a.y[(row0 + r) * a.out + o + n] = float_to_bf16_bits(sums[r][n] + bias);
  }
}

// n (<= kWeightStep) weight rows from o, against R activation rows from row0, Dot::kWeightRows<R> at a time.
template <class Dot, int R>
void emit_rows(const Bf16GemvArgs& a, int64_t row0, int64_t o, int64_t n) {
  constexpr int kBlock = Dot::template kWeightRows<R>;
  int64_t done = 0;
  for (; done + kBlock <= n; done += kBlock) emit_block<Dot, R, kBlock>(a, row0, o + done);
  for (; done < n; ++done) emit_block<Dot, R, 1>(a, row0, o + done);
}

template <class Dot>
void gemv_range(const Bf16GemvArgs& a, int64_t out_begin, int64_t out_end) {
  const int64_t row_bytes = a.in * Dot::kActivationElementBytes;
  const int64_t group =
      min_i64(kRowGroup, row_bytes > 0 ? max_i64(1, kActivationBytes / row_bytes) : kRowGroup);
  for (int64_t o = out_begin; o < out_end; o += kWeightStep) {
    const int64_t n = min_i64(out_end - o, kWeightStep);
    for (int64_t row0 = 0; row0 < a.rows; row0 += group) {
      switch (min_i64(a.rows - row0, group)) {
        case 1:
          emit_rows<Dot, 1>(a, row0, o, n);
          break;
        case 2:
          emit_rows<Dot, 2>(a, row0, o, n);
          break;
        case 3:
          emit_rows<Dot, 3>(a, row0, o, n);
          break;
        case 4:
          emit_rows<Dot, 4>(a, row0, o, n);
          break;
        case 5:
          emit_rows<Dot, 5>(a, row0, o, n);
          break;
        case 6:
          emit_rows<Dot, 6>(a, row0, o, n);
          break;
        case 7:
          emit_rows<Dot, 7>(a, row0, o, n);
          break;
        default:
          emit_rows<Dot, 8>(a, row0, o, n);
          break;
      }
    }
  }
}

}  // namespace
}  // namespace torchllm::kernels
