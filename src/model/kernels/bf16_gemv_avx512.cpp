// bf16_gemv with AVX-512: AVX512_BF16's pair dot products where the CPU has them, else a widening shift and
// FMA. This file is compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512bf16; the BF16
// instructions come only from the _mm512_dpbf16_ps intrinsic, which the dispatcher reaches only on CPUs that
// report avx512bf16 (GCC 12 emits no BF16 instruction on its own). See bf16_gemv_kernels.h for why this file
// includes no templates from outside.

// GCC 12's AVX-512 intrinsics fill their pass-through operand with a self-initialized "undefined" vector,
// which -Wuninitialized reports inside the header wherever they are inlined (GCC bug 105593, fixed
// in 12.3/13).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "model/kernels/bf16_gemv_driver.h"

namespace torchllm::kernels {
namespace {

// The lanes of the last, partial chunk of 32 inputs (all of them for a full one).
inline __mmask32 tail_mask(int64_t remaining) {
  return remaining >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((uint32_t{1} << remaining) - 1);
}

template <int R, int N>
void reduce(__m512 (&acc)[R][N], float (&sums)[R][N]) {
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
    for (int n = 0; n < N; ++n) sums[r][n] = _mm512_reduce_add_ps(acc[r][n]);
  }
}

// The unrolled loops below keep acc[R][N] in registers only if everything they index is a local: GCC
// otherwise keeps the array in memory (and reloads Bf16GemvArgs fields) on every chunk.

// vdpbf16ps: each float32 lane gains x[2i] * w[2i] + x[2i+1] * w[2i+1], straight from the bfloat16 pairs.
struct Avx512Bf16Dot {
  // 32 zmm registers: the sums, the N weight vectors and one activation vector.
  static constexpr int kAccumulators = 16;

  template <int R, int N>
  [[gnu::always_inline]] static inline void chunk(const uint16_t* const (&x)[R],
                                                  const uint16_t* const (&w)[N], int64_t k, __mmask32 mask,
                                                  __m512 (&acc)[R][N]) {
    __m512bh wv[N];
#pragma GCC unroll 16
    for (int n = 0; n < N; ++n) {
#ifdef PF_BYTES
      _mm_prefetch(reinterpret_cast<const char*>(w[n] + k) + PF_BYTES, _MM_HINT_T0);
#endif
      wv[n] = (__m512bh)_mm512_maskz_loadu_epi16(mask, w[n] + k);
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(mask, x[r] + k);
#pragma GCC unroll 16
      for (int n = 0; n < N; ++n) acc[r][n] = _mm512_dpbf16_ps(acc[r][n], xv, wv[n]);
    }
  }

  template <int R, int N>
  static void block(const Bf16GemvArgs& a, int64_t row0, const uint16_t* weight, float (&sums)[R][N]) {
    const int64_t in = a.in;
    const uint16_t* x[R];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) x[r] = a.x + (row0 + r) * in;
    const uint16_t* w[N];
#pragma GCC unroll 16
    for (int n = 0; n < N; ++n) w[n] = weight + n * in;
    __m512 acc[R][N];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
      for (int n = 0; n < N; ++n) acc[r][n] = _mm512_setzero_ps();
    }
    // One loop for the full chunks and the last, masked one: a separate tail call costs GCC the registers.
    for (int64_t k = 0; k < in; k += 32) chunk<R, N>(x, w, k, tail_mask(in - k), acc);
    reduce(acc, sums);
  }
};

// Without AVX512_BF16: a 32-bit lane holds a bfloat16 pair; shifted left it is the even element as float32,
// masked it is the odd one, matched by x_pairs' layout (see bf16_gemv_kernels.h).
struct Avx512Dot {
  static constexpr int kAccumulators = 16;

  template <int R, int N>
  [[gnu::always_inline]] static inline void chunk(const float* const (&x)[R], const uint16_t* const (&w)[N],
                                                  int64_t k, __mmask32 mask, __m512 (&acc)[R][N]) {
    const __m512i odd_mask = _mm512_set1_epi32(static_cast<int>(0xffff0000u));
#pragma GCC unroll 16
    for (int n = 0; n < N; ++n) {
      const __m512i packed = _mm512_maskz_loadu_epi16(mask, w[n] + k);
      const __m512 even = _mm512_castsi512_ps(_mm512_slli_epi32(packed, 16));
      const __m512 odd = _mm512_castsi512_ps(_mm512_and_si512(packed, odd_mask));
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        acc[r][n] = _mm512_fmadd_ps(_mm512_loadu_ps(x[r] + k), even, acc[r][n]);      // 16 even elements
        acc[r][n] = _mm512_fmadd_ps(_mm512_loadu_ps(x[r] + k + 16), odd, acc[r][n]);  // then 16 odd
      }
    }
  }

  template <int R, int N>
  static void block(const Bf16GemvArgs& a, int64_t row0, const uint16_t* weight, float (&sums)[R][N]) {
    const int64_t in = a.in;
    const float* x[R];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) x[r] = a.x_pairs + (row0 + r) * a.padded_in;
    const uint16_t* w[N];
#pragma GCC unroll 16
    for (int n = 0; n < N; ++n) w[n] = weight + n * in;
    __m512 acc[R][N];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
      for (int n = 0; n < N; ++n) acc[r][n] = _mm512_setzero_ps();
    }
    // As in Avx512Bf16Dot; the masked weight lanes meet x_pairs' zero padding.
    for (int64_t k = 0; k < in; k += 32) chunk<R, N>(x, w, k, tail_mask(in - k), acc);
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
