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

// As in bf16_gemv_avx512.cpp: one weight row at a time, streamed in address order, with U consecutive chunks
// summed independently; the R and U loops are unrolled by pragma and index only locals so that GCC keeps
// acc[R][U] in registers.
struct Avx2Dot {
  static constexpr int64_t kActivationElementBytes = 4;
  template <int R>
  static constexpr int kWeightRows = 1;
  // Unrolled chunks per step: R * U sums, at most 8 of the 16 ymm registers (the rest hold the widened
  // weights and the activation in flight).
  template <int R>
  static constexpr int kUnroll = R <= 2 ? 4 : (R <= 4 ? 2 : 1);

  // A chunk of 32 inputs at k: wc points at the weight row's 32, x[r] at activation row r in the pair layout.
  template <int R, int U>
  [[gnu::always_inline]] static inline void chunk(const float* const (&x)[R], const uint16_t* wc, int64_t k,
                                                  int u, __m256 (&acc)[R][U]) {
#pragma GCC unroll 2
    for (int half = 0; half < 2; ++half) {
      const WidenedWeights wv = widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wc + 16 * half)));
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const float* xc = x[r] + k + 8 * half;  // this half's 8 even elements; its 8 odd ones 16 further
        acc[r][u] = _mm256_fmadd_ps(_mm256_loadu_ps(xc), wv.even, acc[r][u]);
        acc[r][u] = _mm256_fmadd_ps(_mm256_loadu_ps(xc + 16), wv.odd, acc[r][u]);
      }
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
    __m256 acc[R][U];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
      for (int u = 0; u < U; ++u) acc[r][u] = _mm256_setzero_ps();
    }
    const int64_t full = in / kBf16PairChunk * kBf16PairChunk;
    int64_t k = 0;
    for (; k + kBf16PairChunk * U <= full; k += kBf16PairChunk * U) {
#pragma GCC unroll 4
      for (int u = 0; u < U; ++u) {
        prefetch_ahead(w + k + kBf16PairChunk * u);
        chunk<R, U>(x, w + k + kBf16PairChunk * u, k + kBf16PairChunk * u, u, acc);
      }
    }
    for (; k < full; k += kBf16PairChunk) chunk<R, U>(x, w + k, k, 0, acc);
    if (full < in) {
      // AVX2 has no 16-bit masked load: copy the partial chunk into a zero-padded one (x_pairs is zero
      // padded too).
      uint16_t padded[kBf16PairChunk] = {};
      std::memcpy(padded, w + full, (in - full) * sizeof(uint16_t));
      chunk<R, U>(x, padded, full, 0, acc);
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      __m256 total = acc[r][0];
#pragma GCC unroll 4
      for (int u = 1; u < U; ++u) total = _mm256_add_ps(total, acc[r][u]);
      const __m128 folded = _mm_add_ps(_mm256_castps256_ps128(total), _mm256_extractf128_ps(total, 1));
      const __m128 pairs = _mm_add_ps(folded, _mm_movehl_ps(folded, folded));
      sums[r][0] = _mm_cvtss_f32(_mm_add_ss(pairs, _mm_movehdup_ps(pairs)));
    }
  }
};

}  // namespace

void bf16_gemv_avx2(const Bf16GemvArgs& args, int64_t out_begin, int64_t out_end) {
  gemv_range<Avx2Dot>(args, out_begin, out_end);
}

}  // namespace torchllm::kernels
