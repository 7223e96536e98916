// bf16_gemv with AVX-512: AVX512_BF16's pair dot products where the CPU has them, else a widening shift and
// FMA. This file is compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512bf16; the BF16
// instructions come only from the _mm512_dpbf16_ps intrinsic, which the dispatcher reaches only on CPUs that
// report avx512bf16 (GCC 12 emits no BF16 instruction on its own). See bf16_gemv_kernels.h for why this file
// includes no templates from outside.

#include "model/kernels/avx512_intrinsics.h"
#include "model/kernels/bf16_gemv_driver.h"

namespace torchllm::kernels {
namespace {

// The lanes of the last, partial chunk of 32 inputs (all of them for a full one).
inline __mmask32 tail_mask(int64_t remaining) {
  return remaining >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((uint32_t{1} << remaining) - 1);
}

// Both kernels take one weight row at a time and stream it straight through, so that the whole matrix is read
// in address order: with several rows in flight at once (2 KB apart for a 1024-wide matrix) the hardware
// prefetcher, which tracks streams within 4 KB pages, lost about a third of the bandwidth here. The
// independent sums that hide the instructions' latency come instead from U consecutive chunks of the row.
//
// The loops over R and U are unrolled by pragma and index only locals: otherwise GCC keeps acc[R][U] in
// memory and reloads Bf16GemvArgs' fields on every chunk.

// Unrolled chunks per step for R activation rows: R * U sums, at most 16 of the 32 zmm registers.
template <int R>
constexpr int kUnroll = R <= 4 ? 4 : 2;

template <int R, int U>
void reduce(__m512 (&acc)[R][U], float (&sums)[R][1]) {
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    __m512 total = acc[r][0];
#pragma GCC unroll 4
    for (int u = 1; u < U; ++u) total = _mm512_add_ps(total, acc[r][u]);
    sums[r][0] = _mm512_reduce_add_ps(total);
  }
}

// vdpbf16ps: each float32 lane gains x[2i] * w[2i] + x[2i+1] * w[2i+1], straight from the bfloat16 pairs.
struct Avx512Bf16Dot {
  static constexpr int64_t kActivationElementBytes = 2;
  // From 5 activation rows, two weight rows at a time: each chunk then loads R + 2 vectors for 2R products
  // instead of R + 1 for R. Qwen3-0.6B BF16, 16 sequences: 212-228 -> 256-265 tok/s (interleaved runs); from
  // 3 rows it cost batch 4 ~15% (R = 3-4 then has too few independent sums for the latency).
  template <int R>
  static constexpr int kWeightRows = R >= 5 ? 2 : 1;

  // Chunk u of a step (32 inputs at k) of the weight row w and the activation rows x into acc[.][u].
  template <int R, int U>
  [[gnu::always_inline]] static inline void chunk(const uint16_t* const (&x)[R], const uint16_t* w, int64_t k,
                                                  __mmask32 mask, int u, __m512 (&acc)[R][U]) {
    const __m512bh wv = (__m512bh)_mm512_maskz_loadu_epi16(mask, w + k);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      acc[r][u] = _mm512_dpbf16_ps(acc[r][u], (__m512bh)_mm512_maskz_loadu_epi16(mask, x[r] + k), wv);
    }
  }

  // Two weight rows (w, w + in) against R activation rows: 2R independent sums, one chunk per step.
  template <int R>
  static void block_pairs(const Bf16GemvArgs& a, int64_t row0, const uint16_t* w, float (&sums)[R][2]) {
    const int64_t in = a.in;
    const uint16_t* x[R];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) x[r] = a.x + (row0 + r) * in;
    __m512 acc[R][2];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int64_t k = 0; k < in; k += 32) {
      const __mmask32 mask = tail_mask(in - k);
      prefetch_ahead(w + k);
      prefetch_ahead(w + in + k);
      const __m512bh w0 = (__m512bh)_mm512_maskz_loadu_epi16(mask, w + k);
      const __m512bh w1 = (__m512bh)_mm512_maskz_loadu_epi16(mask, w + in + k);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(mask, x[r] + k);
        acc[r][0] = _mm512_dpbf16_ps(acc[r][0], xv, w0);
        acc[r][1] = _mm512_dpbf16_ps(acc[r][1], xv, w1);
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      sums[r][0] = _mm512_reduce_add_ps(acc[r][0]);
      sums[r][1] = _mm512_reduce_add_ps(acc[r][1]);
    }
  }

  template <int R, int N>
  static void block(const Bf16GemvArgs& a, int64_t row0, const uint16_t* w, float (&sums)[R][N]) {
    static_assert(N == 1 || N == 2, "one or two weight rows at a time");
    if constexpr (N == 2) {
      block_pairs<R>(a, row0, w, sums);
    } else {
      block_single<R>(a, row0, w, sums);
    }
  }

  // One weight row, streamed through U chunks per step.
  template <int R>
  static void block_single(const Bf16GemvArgs& a, int64_t row0, const uint16_t* w, float (&sums)[R][1]) {
    constexpr int U = kUnroll<R>;
    const int64_t in = a.in;
    const uint16_t* x[R];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) x[r] = a.x + (row0 + r) * in;
    __m512 acc[R][U];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
      for (int u = 0; u < U; ++u) acc[r][u] = _mm512_setzero_ps();
    }
    int64_t k = 0;
    for (; k + 32 * U <= in; k += 32 * U) {
#pragma GCC unroll 4
      for (int u = 0; u < U; ++u) {
        prefetch_ahead(w + k + 32 * u);
        chunk<R, U>(x, w, k + 32 * u, ~__mmask32{0}, u, acc);
      }
    }
    for (; k < in; k += 32) chunk<R, U>(x, w, k, tail_mask(in - k), 0, acc);  // the last partial chunk masked
    reduce(acc, sums);
  }
};

// Without AVX512_BF16: a 32-bit lane holds a bfloat16 pair; shifted left it is the even element as float32,
// masked it is the odd one, matched by x_pairs' layout (see bf16_gemv_kernels.h).
struct Avx512Dot {
  static constexpr int64_t kActivationElementBytes = 4;  // x_pairs
  template <int R>
  static constexpr int kWeightRows = 1;

  template <int R, int U>
  [[gnu::always_inline]] static inline void chunk(const float* const (&x)[R], const uint16_t* w, int64_t k,
                                                  __mmask32 mask, int u, __m512 (&acc)[R][U]) {
    const __m512i packed = _mm512_maskz_loadu_epi16(mask, w + k);
    const __m512 even = _mm512_castsi512_ps(_mm512_slli_epi32(packed, 16));
    const __m512 odd = _mm512_castsi512_ps(_mm512_and_si512(packed, _mm512_set1_epi32(int(0xffff0000u))));
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      acc[r][u] = _mm512_fmadd_ps(_mm512_loadu_ps(x[r] + k), even, acc[r][u]);      // 16 even elements
      acc[r][u] = _mm512_fmadd_ps(_mm512_loadu_ps(x[r] + k + 16), odd, acc[r][u]);  // then 16 odd
    }
  }

  template <int R, int N>
  static void block(const Bf16GemvArgs& a, int64_t row0, const uint16_t* w, float (&sums)[R][N]) {
    static_assert(N == 1, "one weight row at a time");
    constexpr int U = kUnroll<R>;
    const int64_t in = a.in;
    const float* x[R];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) x[r] = a.x_pairs + (row0 + r) * a.padded_in;
    __m512 acc[R][U];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
      for (int u = 0; u < U; ++u) acc[r][u] = _mm512_setzero_ps();
    }
    int64_t k = 0;
    for (; k + 32 * U <= in; k += 32 * U) {
#pragma GCC unroll 4
      for (int u = 0; u < U; ++u) {
        prefetch_ahead(w + k + 32 * u);
        chunk<R, U>(x, w, k + 32 * u, ~__mmask32{0}, u, acc);
      }
    }
    // The masked weight lanes of the last partial chunk meet x_pairs' zero padding.
    for (; k < in; k += 32) chunk<R, U>(x, w, k, tail_mask(in - k), 0, acc);
    reduce(acc, sums);
  }
};

}  // namespace

void bf16_gemv_avx512(const Bf16GemvArgs& args, int64_t out_begin, int64_t out_end) {
  gemv_range<Avx512Dot>(args, out_begin, out_end);
}

void bf16_gemv_avx512bf16(const Bf16GemvArgs& args, int64_t out_begin, int64_t out_end) {
  gemv_range<Avx512Bf16Dot>(args, out_begin, out_end);
}

}  // namespace torchllm::kernels
