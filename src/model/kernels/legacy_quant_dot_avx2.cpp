// AVX2 kernels of the 32-element formats. Per block: unpack the weights to 32 bytes, multiply with the
// activation bytes into eight int32 partial sums; every eight blocks, a horizontal-add tree turns the eight
// partial-sum vectors into one vector of the blocks' exact sums, whose float terms join the lane
// accumulator (LaneSum's lane b % 8), so the result is bit-identical to the scalar reference.

#include <immintrin.h>

#include <cstring>

#include "model/kernels/block_dot.h"
#include "model/kernels/block_dot_kernels.h"
#include "model/kernels/block_layouts.h"
#include "model/kernels/weight_prefetch.h"
#include "model/quant/fp16.h"

namespace torchllm::kernels {
namespace {

// Partial sums of signed weight bytes times activation bytes (activations never -128: their quantizers
// round into [-127, 127], which keeps the sign trick exact).
inline __m256i dot_signed(__m256i w, __m256i a) {
  const __m256i products = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
  return _mm256_madd_epi16(products, _mm256_set1_epi16(1));
}

// The same for unsigned weight bytes (at most 31: no int16 saturation).
inline __m256i dot_unsigned(__m256i w, __m256i a) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(w, a), _mm256_set1_epi16(1));
}

// Elements 0..15 from the low nibbles of 16 bytes, elements 16..31 from the high ones.
inline __m256i nibbles(const uint8_t* qs) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(bytes, 4), bytes), _mm256_set1_epi8(0x0F));
}

// Byte j = 0xFF where bit j of the 32-bit qh is set, else 0.
inline __m256i bit_mask_bytes(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, sizeof bits);
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(bits)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0x0000000000000000));
  const __m256i others = _mm256_or_si256(spread, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
  return _mm256_cmpeq_epi8(others, _mm256_set1_epi64x(-1));
}

inline __m256i load32(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// Eight partial-sum vectors -> the eight blocks' sums, block i in lane i (integer adds: exact).
inline __m256i block_sums(const __m256i p[8]) {
  const __m256i h0 = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
  const __m256i h1 = _mm256_hadd_epi32(_mm256_hadd_epi32(p[4], p[5]), _mm256_hadd_epi32(p[6], p[7]));
  // h0 = [b0..b3 low halves | b0..b3 high halves], h1 the same for b4..b7
  return _mm256_add_epi32(_mm256_permute2x128_si256(h0, h1, 0x20), _mm256_permute2x128_si256(h0, h1, 0x31));
}

inline int horizontal_sum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

struct ZeroPoint {
  static constexpr bool kHasMin = false;
};
struct WithMin {
  static constexpr bool kHasMin = true;
};

// The row loop shared by every 32-element format. `partials(w, a)` gives a block's partial-sum vector.
template <typename Block, typename Activation, typename Kind, typename Partials>
float dot_row(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n, Partials partials) {
  const auto* w = reinterpret_cast<const Block*>(weight_row);
  const auto* a = reinterpret_cast<const Activation*>(activation_row);
  const int64_t blocks = n / kQK;
  __m256 acc = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 8 <= blocks; b += 8) {
    prefetch_weights_ahead<8 * sizeof(Block)>(w + b);
    __m256i p[8];
    alignas(32) uint16_t wd[8], ad[8];
    for (int i = 0; i < 8; ++i) {
      p[i] = partials(w[b + i], a[b + i]);
      wd[i] = w[b + i].d;
      ad[i] = a[b + i].d;
    }
    const __m256 scale = _mm256_mul_ps(_mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(wd))),
                                       _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(ad))));
    __m256 terms = _mm256_mul_ps(scale, _mm256_cvtepi32_ps(block_sums(p)));
    if constexpr (Kind::kHasMin) {
      alignas(32) uint16_t wm[8], as[8];
      for (int i = 0; i < 8; ++i) {
        wm[i] = w[b + i].m;
        as[i] = a[b + i].s;
      }
      terms = _mm256_add_ps(
          terms, _mm256_mul_ps(_mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(wm))),
                               _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(as)))));
    }
    acc = _mm256_add_ps(acc, terms);
  }
  LaneSum sum;
  _mm256_storeu_ps(sum.lane, acc);
  for (; b < blocks; ++b) {
    float term = (fp16_to_fp32(w[b].d) * fp16_to_fp32(a[b].d)) *
                 static_cast<float>(horizontal_sum(partials(w[b], a[b])));
    if constexpr (Kind::kHasMin) term = term + fp16_to_fp32(w[b].m) * fp16_to_fp32(a[b].s);
    sum.add(b, term);
  }
  return sum.total();
}

}  // namespace

float dot_q8_0_avx2(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_row<BlockQ8_0, BlockQ8_0, ZeroPoint>(
      weight_row, activation_row, n,
      [](const BlockQ8_0& w, const BlockQ8_0& a) { return dot_signed(load32(w.qs), load32(a.qs)); });
}

float dot_q4_0_avx2(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_row<BlockQ4_0, BlockQ8_0, ZeroPoint>(
      weight_row, activation_row, n, [](const BlockQ4_0& w, const BlockQ8_0& a) {
        return dot_signed(_mm256_sub_epi8(nibbles(w.qs), _mm256_set1_epi8(8)), load32(a.qs));
      });
}

float dot_q5_0_avx2(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_row<BlockQ5_0, BlockQ8_0, ZeroPoint>(
      weight_row, activation_row, n, [](const BlockQ5_0& w, const BlockQ8_0& a) {
        // value - 16 as a signed byte: the nibble, or the nibble with 0xF0 set where the high bit is clear
        const __m256i high =
            _mm256_andnot_si256(bit_mask_bytes(w.qh), _mm256_set1_epi8(static_cast<char>(0xF0)));
        return dot_signed(_mm256_or_si256(nibbles(w.qs), high), load32(a.qs));
      });
}

float dot_q4_1_avx2(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_row<BlockQ4_1, BlockQ8_1, WithMin>(
      weight_row, activation_row, n,
      [](const BlockQ4_1& w, const BlockQ8_1& a) { return dot_unsigned(nibbles(w.qs), load32(a.qs)); });
}

float dot_q5_1_avx2(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_row<BlockQ5_1, BlockQ8_1, WithMin>(
      weight_row, activation_row, n, [](const BlockQ5_1& w, const BlockQ8_1& a) {
        const __m256i high = _mm256_and_si256(bit_mask_bytes(w.qh), _mm256_set1_epi8(0x10));
        return dot_unsigned(_mm256_or_si256(nibbles(w.qs), high), load32(a.qs));
      });
}

}  // namespace torchllm::kernels
