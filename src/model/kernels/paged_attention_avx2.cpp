// Paged decode attention with AVX2, FMA and F16C: the loop of paged_attention_impl.h on 8-float vectors
// (this file is compiled with -mavx2 -mfma -mf16c; see that header for why it instantiates nothing from
// outside). head_dim is a multiple of 8, so every row is whole vectors.

#include <immintrin.h>

#include "model/kernels/paged_attention_impl.h"

namespace torchllm::kernels {
namespace {

struct Avx2Ops {
  using Vec = __m256;
  static constexpr int64_t kWidth = 8;
  static constexpr int kAccumulators = 8;  // of 16 registers
  static Vec zero() { return _mm256_setzero_ps(); }
  static Vec set1(float x) { return _mm256_set1_ps(x); }
  static Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
  static Vec sub(Vec a, Vec b) { return _mm256_sub_ps(a, b); }
  static Vec mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
  static Vec max(Vec a, Vec b) { return _mm256_max_ps(a, b); }
  static Vec fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
  // exp in float64 (kExpTaylor), 4 lanes at a time.
  static Vec exp(Vec x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(kExpFloor));
    const __m128 lo = exp_quarter(_mm256_cvtps_pd(_mm256_castps256_ps128(x)));
    const __m128 hi = exp_quarter(_mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)));
    return _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
  }
  static __m128 exp_quarter(__m256d x) {
    const __m256d n = _mm256_round_pd(_mm256_mul_pd(x, _mm256_set1_pd(kLog2eD)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256d r = _mm256_fnmadd_pd(n, _mm256_set1_pd(kLn2D), x);
    __m256d p = _mm256_set1_pd(kExpTaylor[0]);
    for (int k = 1; k < 11; ++k) p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(kExpTaylor[k]));
    // 2^n: n + 1023 in the low bits of 1.5 * 2^52 + n + 1023, shifted into the exponent field.
    const __m256i scale = _mm256_slli_epi64(
        _mm256_castpd_si256(_mm256_add_pd(n, _mm256_set1_pd(6755399441055744.0 + 1023))), 52);
    return _mm256_cvtpd_ps(_mm256_mul_pd(p, _mm256_castsi256_pd(scale)));
  }
  static float reduce(Vec v) {
    const __m128 folded = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 pairs = _mm_add_ps(folded, _mm_movehl_ps(folded, folded));
    return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_movehdup_ps(pairs)));
  }
  static float reduce_max(Vec v) {
    const __m128 folded = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 pairs = _mm_max_ps(folded, _mm_movehl_ps(folded, folded));
    return _mm_cvtss_f32(_mm_max_ss(pairs, _mm_movehdup_ps(pairs)));
  }
  static void reduce_tile(const Vec* v, float* out) { _mm256_storeu_ps(out, sum_eight(v)); }
  static Vec mul_f64(Vec v, double x) {
    const __m256d xs = _mm256_set1_pd(x);
    const __m128 lo = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), xs));
    const __m128 hi = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), xs));
    return _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
  }
  static Vec round_bf16(Vec v) {
    const __m256i u = _mm256_castps_si256(v);
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i rounded =
        _mm256_and_si256(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), odd),
                         _mm256_set1_epi32(static_cast<int>(0xffff0000u)));
    return _mm256_blendv_ps(_mm256_castsi256_ps(rounded), v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  }
  static void store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
  static Vec load(const float* p) { return _mm256_loadu_ps(p); }
  // bfloat16 is the top half of a float32: widen each to 32 bits and shift it up.
  static Vec load(const Bf16* p) {
    const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
  }
  static void load_pair(const Bf16* p, Vec& even, Vec& odd) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    even = _mm256_castsi256_ps(_mm256_slli_epi32(x, 16));
    odd = _mm256_castsi256_ps(_mm256_and_si256(x, _mm256_set1_epi32(static_cast<int>(0xffff0000u))));
  }
  // F16C's conversion is exact, as fp16_to_fp32 (the scalar kernel's) for every half.
  static Vec load(const F16* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static Vec load(const Q8* p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }
};

}  // namespace

void paged_decode_avx2(const PagedDecodeArgs& args, int64_t begin, int64_t end) {
  paged_decode_range<Avx2Ops>(args, begin, end);
}

}  // namespace torchllm::kernels
