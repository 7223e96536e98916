// bf16_gemv with AVX2 and FMA (this file is compiled with -mavx2 -mfma -mf16c; see bf16_gemv_kernels.h for
// why it includes no templates from outside).

#include <immintrin.h>

#include "model/kernels/bf16_gemv_driver.h"

namespace torchllm::kernels {
namespace {

// Sixteen bfloat16 weights as two float32 vectors: the even elements (the low halves of the 32-bit lanes,
// shifted up) and the odd ones (the high halves, as they are).
struct WidenedWeights {
  __m256 even;
  __m256 odd;
};

inline WidenedWeights widen(__m256i packed) {
  return {_mm256_castsi256_ps(_mm256_slli_epi32(packed, 16)),
          _mm256_castsi256_ps(_mm256_and_si256(packed, _mm256_set1_epi32(static_cast<int>(0xffff0000u))))};
}

// As in bf16_gemv_avx512.cpp, the R and N loops are unrolled by pragma and index only locals, so that GCC
// keeps acc[R][N] in registers.
struct Avx2Dot {
  // 16 ymm registers: the sums, plus the widened weights and the activation in flight.
  static constexpr int kAccumulators = 8;

  // A chunk of 32 inputs: wc[n] points at weight row n's 32, x[r] at activation row r's in the pair layout.
  template <int R, int N>
  [[gnu::always_inline]] static inline void chunk(const float* const (&x)[R], const uint16_t* const (&wc)[N],
                                                  int64_t k, __m256 (&acc)[R][N]) {
#pragma GCC unroll 2
    for (int half = 0; half < 2; ++half) {
#pragma GCC unroll 16
      for (int n = 0; n < N; ++n) {
        const WidenedWeights wv =
            widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wc[n] + 16 * half)));
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) {
          const float* xc = x[r] + k + 8 * half;  // this half's 8 even elements; its 8 odd ones 16 further
          acc[r][n] = _mm256_fmadd_ps(_mm256_loadu_ps(xc), wv.even, acc[r][n]);
          acc[r][n] = _mm256_fmadd_ps(_mm256_loadu_ps(xc + 16), wv.odd, acc[r][n]);
        }
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
    __m256 acc[R][N];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
      for (int n = 0; n < N; ++n) acc[r][n] = _mm256_setzero_ps();
    }
    const int64_t full = in / kBf16PairChunk * kBf16PairChunk;
    for (int64_t k = 0; k < full; k += kBf16PairChunk) {
      const uint16_t* wc[N];
#pragma GCC unroll 16
      for (int n = 0; n < N; ++n) wc[n] = w[n] + k;
      chunk<R, N>(x, wc, k, acc);
    }
    if (full < in) {
      // AVX2 has no 16-bit masked load: copy the partial chunk into a zero-padded one (x_pairs is zero
      // padded too).
      uint16_t padded[N][kBf16PairChunk] = {};
      const uint16_t* wc[N];
#pragma GCC unroll 16
      for (int n = 0; n < N; ++n) {
        std::memcpy(padded[n], w[n] + full, (in - full) * sizeof(uint16_t));
        wc[n] = padded[n];
      }
      chunk<R, N>(x, wc, full, acc);
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
      for (int n = 0; n < N; ++n) {
        const __m128 folded =
            _mm_add_ps(_mm256_castps256_ps128(acc[r][n]), _mm256_extractf128_ps(acc[r][n], 1));
        const __m128 pairs = _mm_add_ps(folded, _mm_movehl_ps(folded, folded));
        sums[r][n] = _mm_cvtss_f32(_mm_add_ss(pairs, _mm_movehdup_ps(pairs)));
      }
    }
  }
};

}  // namespace

void bf16_gemv_avx2(const Bf16GemvArgs& args, int64_t out_begin, int64_t out_end) {
  gemv_range<Avx2Dot>(args, out_begin, out_end);
}

}  // namespace torchllm::kernels
