// Paged decode attention with AVX-512 (F, BW, VL, DQ; F16C and FMA come with it here): the loop of
// paged_attention_impl.h on 16-float vectors. This file is compiled with -mavx512f -mavx512bw -mavx512vl
// -mavx512dq -mfma -mf16c; see that header for why it instantiates nothing from outside.

#include "model/kernels/avx512_intrinsics.h"
#include "model/kernels/paged_attention_impl.h"

namespace torchllm::kernels {
namespace {

struct Avx512Ops {
  using Vec = __m512;
  static constexpr int64_t kWidth = 16;
  static constexpr int kAccumulators = 16;  // of 32 registers
  static Vec zero() { return _mm512_setzero_ps(); }
  static Vec set1(float x) { return _mm512_set1_ps(x); }
  static Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
  static Vec sub(Vec a, Vec b) { return _mm512_sub_ps(a, b); }
  static Vec mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
  static Vec max(Vec a, Vec b) { return _mm512_max_ps(a, b); }
  static Vec fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
  // exp in float64 (kExpTaylor), 8 lanes at a time.
  static Vec exp(Vec x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(kExpFloor));
    const __m256 lo = exp_half(_mm512_cvtps_pd(_mm512_castps512_ps256(x)));
    const __m256 hi =
        exp_half(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1))));
    return _mm512_castpd_ps(
        _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(lo)), _mm256_castps_pd(hi), 1));
  }
  static __m256 exp_half(__m512d x) {
    const __m512d n = _mm512_roundscale_pd(_mm512_mul_pd(x, _mm512_set1_pd(kLog2eD)),
                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512d r = _mm512_fnmadd_pd(n, _mm512_set1_pd(kLn2D), x);
    __m512d p = _mm512_set1_pd(kExpTaylor[0]);
    for (int k = 1; k < 11; ++k) p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(kExpTaylor[k]));
    return _mm512_cvtpd_ps(_mm512_scalef_pd(p, n));
  }
  static float reduce_max(Vec v) { return _mm512_reduce_max_ps(v); }
  // Each vector folded to 8 lanes, then AVX2's tree of horizontal adds.
  static void reduce_tile(const Vec* v, float* out) {
    __m256 halves[kTile];
    for (int t = 0; t < kTile; ++t) {
      halves[t] = _mm256_add_ps(_mm512_castps512_ps256(v[t]),
                                _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v[t]), 1)));
    }
    _mm256_storeu_ps(out, sum_eight(halves));
  }
  static float reduce(Vec v) {
    const __m256 folded = _mm256_add_ps(_mm512_castps512_ps256(v),
                                        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    const __m128 quad = _mm_add_ps(_mm256_castps256_ps128(folded), _mm256_extractf128_ps(folded, 1));
    const __m128 pairs = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
    return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_movehdup_ps(pairs)));
  }
  static Vec mul_f64(Vec v, double x) {
    const __m512d xs = _mm512_set1_pd(x);
    const __m256 lo = _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v)), xs));
    const __m256 hi = _mm512_cvtpd_ps(
        _mm512_mul_pd(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))), xs));
    return _mm512_castpd_ps(
        _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(lo)), _mm256_castps_pd(hi), 1));
  }
  static Vec round_bf16(Vec v) {
    const __m512i u = _mm512_castps_si512(v);
    const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    const __m512i rounded =
        _mm512_and_si512(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), odd),
                         _mm512_set1_epi32(static_cast<int>(0xffff0000u)));
    const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    return _mm512_castsi512_ps(_mm512_mask_blend_epi32(nan, rounded, u));
  }
  static void store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
  static Vec load(const float* p) { return _mm512_loadu_ps(p); }
  // bfloat16 is the top half of a float32: widen each to 32 bits and shift it up.
  static Vec load(const Bf16* p) {
    const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
  }
  static void load_pair(const Bf16* p, Vec& even, Vec& odd) {
    const __m512i x = _mm512_loadu_si512(p);
    even = _mm512_castsi512_ps(_mm512_slli_epi32(x, 16));
    odd = _mm512_castsi512_ps(_mm512_and_si512(x, _mm512_set1_epi32(static_cast<int>(0xffff0000u))));
  }
  // Exact, as fp16_to_fp32 (the scalar kernel's) for every half.
  static Vec load(const F16* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static Vec load(const Q8* p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
};

}  // namespace

void paged_decode_avx512(const PagedDecodeArgs& args, int64_t begin, int64_t end) {
  paged_decode_range<Avx512Ops>(args, begin, end);
}

}  // namespace torchllm::kernels
