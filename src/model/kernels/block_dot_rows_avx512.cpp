// AVX-512 VNNI block dot products of four weight rows with one token's activation row (batch-1 decode of
// the K formats). The single-row kernels spend most of their arithmetic reducing each block's 16 integer
// lanes and forming its float term; here four rows x four blocks are reduced in one combine tree and their
// 16 float terms formed in one vector (block_dot_avx512_quads.h). Row r's float is exactly the single-row
// kernel's (block_dot_avx512.cpp): the same exact integer block sums, the same float operations per block,
// and lane 4r + i of the accumulator for blocks 4k..4k+3 is row r's Lanes lane 4 * (k % 2) + i.

#include "model/kernels/block_dot_avx512_impl.h"
#include "model/kernels/block_dot_avx512_quads.h"
#include "model/kernels/block_dot_kernels.h"

namespace torchllm::kernels {
namespace {

constexpr int kRows = 4;

// Quads ahead whose weights are prefetched: four rows' blocks taken in turn are not a stream the hardware
// prefetchers follow, and weights streamed from DRAM ran ~35% slower than row by row without it.
constexpr int64_t kPrefetchQuads = 2;

// Prefetches the block at the same place kPrefetchQuads quads further on.
template <typename Block>
inline void prefetch_ahead(const Block& block, int64_t weight_stride) {
  const char* p = reinterpret_cast<const char*>(&block) + kPrefetchQuads * kRows * weight_stride;
  for (size_t off = 0; off < sizeof(Block); off += 64) _mm_prefetch(p + off, _MM_HINT_T0);
  _mm_prefetch(p + sizeof(Block) - 1, _MM_HINT_T0);
}

// The activation's scales of blocks b..b+3: block b + i in lane 4r + i for every r.
inline __m512 activation_scales(const BlockQ8_K* a, int64_t b) {
  return _mm512_broadcast_f32x4(_mm_set_ps(a[b + 3].d, a[b + 2].d, a[b + 1].d, a[b].d));
}

// Four Q4_K/Q5_K rows' d and dmin of blocks b..b+3 as floats: row r's block b + i in lane 4r + i.
template <typename BlockW>
inline void scales_and_mins16(const BlockW* const w[kRows], int64_t b, __m512* d, __m512* dmin) {
  alignas(64) uint32_t fields[16];  // d | dmin << 16: each block opens with them
  for (int r = 0; r < kRows; ++r) {
    for (int i = 0; i < 4; ++i) std::memcpy(&fields[4 * r + i], &w[r][b + i], sizeof fields[0]);
  }
  const __m512i x = _mm512_load_si512(fields);
  *d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(x));
  *dmin = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(x, 16)));
}

// The four rows' Lanes totals when there are no tail blocks (lane 4r + i of acc[h] is row r's lane 4h + i):
// Lanes::total's pairwise sums, each with the same first and second operand, as one vector.
inline void row_totals(const __m512 acc[2], float* out) {
  const auto quarter = [](__m512 v) {
    const __m512 pairs = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm512_add_ps(pairs, _mm512_permute_ps(pairs, _MM_SHUFFLE(1, 0, 3, 2)));  // in lanes 4r
  };
  const __m512 total = _mm512_add_ps(quarter(acc[0]), quarter(acc[1]));
  const __m512i lane_4r = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 8, 4, 0);
  _mm_storeu_ps(out, _mm512_castps512_ps128(_mm512_permutexvar_ps(lane_4r, total)));
}

// The rows' totals: the quads' lanes (acc as quad_lanes<1> reads it), then the blocks from `b` (past the
// last whole quad) one by one, term(r, block) being the single-row kernel's float term.
template <typename Term>
void finish_rows(const __m512 (&acc)[1][2], int64_t b, int64_t blocks, float* out, Term term) {
  if (b == blocks) return row_totals(acc[0], out);
  Lanes sum[kRows];
  quad_lanes<1>(acc, sum);
  for (int r = 0; r < kRows; ++r) {
    for (int64_t tail = b; tail < blocks; ++tail) sum[r].add(tail, term(r, tail));
    out[r] = sum[r].total();
  }
}

// Four rows' sub-block scales and mins of one block, unpacked together (unpack_scales_mins on each 128-bit
// lane, row r in lane r): per row the word-paired scales of scaled_sum, and all four rows' mins, row r's
// eight in words 8r..8r+7 (128-bit lane r).
struct RowScales {
  __m512i s01[kRows], s23[kRows];
  __m512i mins;
};

template <typename BlockW>
inline RowScales row_scales(const BlockW* const w[kRows], int64_t k) {
  const auto packed = [&](int r) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[r][k].scales));
  };
  const __m512i x = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(packed(1), packed(0))),
                                       _mm256_set_m128i(packed(3), packed(2)), 1);
  const __m512i low = _mm512_and_si512(x, _mm512_set1_epi32(0x3f3f3f3f));  // scales 0..3, mins 0..3
  const __m512i nibbles = _mm512_and_si512(
      _mm512_srlv_epi32(_mm512_shuffle_epi32(x, static_cast<_MM_PERM_ENUM>(_MM_SHUFFLE(2, 2, 2, 2))),
                        _mm512_set4_epi32(4, 0, 0, 0)),
      _mm512_set1_epi32(0x0f0f0f0f));
  const __m512i top2 = _mm512_and_si512(
      _mm512_srli_epi32(_mm512_shuffle_epi32(x, static_cast<_MM_PERM_ENUM>(_MM_SHUFFLE(1, 0, 1, 0))), 2),
      _mm512_set1_epi32(0x30303030));
  const __m512i words = _mm512_mask_blend_epi32(0xCCCC, low, _mm512_or_si512(nibbles, top2));
  // Per row: scales 0..7, mins 0..7 as bytes; then rows 0-1 and 2-3 as words, row 2q + h's scales in words
  // 16h..16h + 7 of sm[q] and its mins in words 16h + 8..16h + 15.
  const __m512i bytes = _mm512_shuffle_epi32(words, static_cast<_MM_PERM_ENUM>(_MM_SHUFFLE(3, 1, 2, 0)));
  const __m512i sm[2] = {_mm512_cvtepu8_epi16(_mm512_castsi512_si256(bytes)),
                         _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(bytes, 1))};
  RowScales s;
  for (int r = 0; r < kRows; ++r) {
    // As scaled_min_block: chunk c's lanes 0-7 belong to sub-block 2c, lanes 8-15 to 2c + 1.
    const int o = 16 * (r % 2);
    s.s01[r] =
        _mm512_permutexvar_epi16(word_pairs(o, o + 2, o, o + 2, o + 1, o + 3, o + 1, o + 3), sm[r / 2]);
    s.s23[r] = _mm512_permutexvar_epi16(word_pairs(o + 4, o + 6, o + 4, o + 6, o + 5, o + 7, o + 5, o + 7),
                                        sm[r / 2]);
  }
  // Word 8r + j: row r's min j (word 32 + i of the index is sm[1]'s word i).
  alignas(64) static constexpr int16_t kMins[32] = {8,  9,  10, 11, 12, 13, 14, 15, 24, 25, 26,
                                                    27, 28, 29, 30, 31, 40, 41, 42, 43, 44, 45,
                                                    46, 47, 56, 57, 58, 59, 60, 61, 62, 63};
  s.mins = _mm512_permutex2var_epi16(sm[0], _mm512_load_si512(kMins), sm[1]);
  return s;
}

// A block's 32-element activation sums bsums[2j] + bsums[2j + 1] (|sum| <= 4096 fits int16) as words j in
// every 128-bit lane.
inline __m512i pair_bsums(const BlockQ8_K& a) {
  const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a.bsums));
  const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a.bsums + 8));
  return _mm512_broadcast_i32x4(_mm_hadd_epi16(lo, hi));
}

// Four rows of Q4_K or Q5_K, as dot_scaled_min: the scales unpacked four rows at a time, and each block's
// Σ min * bsum of all four rows in one madd (row r's in lanes 4r..4r + 3).
template <typename BlockW, ScaledMinWeights (*unpack)(const BlockW&)>
void scaled_min_rows(const uint8_t* weight_rows, int64_t weight_stride, const uint8_t* activation_row,
                     int64_t n, float* out) {
  const BlockW* w[kRows];
  for (int r = 0; r < kRows; ++r) w[r] = reinterpret_cast<const BlockW*>(weight_rows + r * weight_stride);
  const auto* a = reinterpret_cast<const BlockQ8_K*>(activation_row);
  const int64_t blocks = n / kQK_K;
  __m512 acc[1][2] = {{_mm512_setzero_ps(), _mm512_setzero_ps()}};
  int64_t b = 0;
  for (; b + 4 <= blocks; b += 4) {
    __m512i pair_sum, pair_min, half_sum, half_min, sums, mins;
    for (int i = 0; i < 4; ++i) {
      const BlockQ8_K& x = a[b + i];
      const RowScales sc = row_scales(w, b + i);
      __m512i s[kRows];
      for (int r = 0; r < kRows; ++r) {
        ScaledMinBlock u;
        prefetch_ahead(w[r][b + i], weight_stride);
        const ScaledMinWeights q = unpack(w[r][b + i]);  // only the quants are used
        for (int c = 0; c < 4; ++c) u.q[c] = q.q[c];
        u.s01 = sc.s01[r];
        u.s23 = sc.s23[r];
        s[r] = scaled_sum(u, x);
      }
      __m512i ms = _mm512_madd_epi16(sc.mins, pair_bsums(x));
      __m512i ss = combine_quad(s[0], s[1], s[2], s[3]);
      if (i % 2 == 0) {
        pair_sum = ss;
        pair_min = ms;
        continue;
      }
      ss = combine<1>(pair_sum, ss);
      ms = combine<1>(pair_min, ms);
      if (i == 1) {
        half_sum = ss;
        half_min = ms;
      } else {
        sums = combine<2>(half_sum, ss);
        mins = combine<2>(half_min, ms);
      }
    }
    __m512 d, dmin;
    scales_and_mins16(w, b, &d, &dmin);
    const __m512 d_a = activation_scales(a, b);
    // The reference's (d_a * d) * isum - (d_a * dmin) * imin.
    const __m512 terms = _mm512_sub_ps(_mm512_mul_ps(_mm512_mul_ps(d_a, d), _mm512_cvtepi32_ps(sums)),
                                       _mm512_mul_ps(_mm512_mul_ps(d_a, dmin), _mm512_cvtepi32_ps(mins)));
    const int half = (b / 4) & 1;
    acc[0][half] = _mm512_add_ps(acc[0][half], terms);
  }
  finish_rows(acc, b, blocks, out, [&](int r, int64_t tail) {
    const ScaledMinIntegers t = scaled_min_integers(unpack(w[r][tail]), a[tail]);
    return scaled_min_term(a[tail].d, w[r][tail].d, w[r][tail].dmin, fold(t.isum), t.imin);
  });
}

// Four rows of Q6_K, as dot_q6_k_avx512.
void q6_k_rows(const uint8_t* weight_rows, int64_t weight_stride, const uint8_t* activation_row, int64_t n,
               float* out) {
  const BlockQ6_K* w[kRows];
  for (int r = 0; r < kRows; ++r) w[r] = reinterpret_cast<const BlockQ6_K*>(weight_rows + r * weight_stride);
  const auto* a = reinterpret_cast<const BlockQ8_K*>(activation_row);
  const int64_t blocks = n / kQK_K;
  __m512 acc[1][2] = {{_mm512_setzero_ps(), _mm512_setzero_ps()}};
  int64_t b = 0;
  for (; b + 4 <= blocks; b += 4) {
    __m512i pair, half, sums;
    for (int i = 0; i < 4; ++i) {
      const BlockQ8_K& x = a[b + i];
      __m512i s[kRows];
      for (int r = 0; r < kRows; ++r) {
        prefetch_ahead(w[r][b + i], weight_stride);
        s[r] = q6_k_sum(q6_k_block(w[r][b + i]), x);
      }
      __m512i q = combine_quad(s[0], s[1], s[2], s[3]);
      if (i % 2 == 0) {
        pair = q;
        continue;
      }
      q = combine<1>(pair, q);
      if (i == 1) {
        half = q;
      } else {
        sums = combine<2>(half, q);
      }
    }
    alignas(32) uint16_t h[16];
    for (int r = 0; r < kRows; ++r) {
      for (int i = 0; i < 4; ++i) h[4 * r + i] = w[r][b + i].d;
    }
    const __m512 d = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(h)));
    // The reference's (d_a * d) * isum.
    const __m512 terms = _mm512_mul_ps(_mm512_mul_ps(activation_scales(a, b), d), _mm512_cvtepi32_ps(sums));
    const int lanes = (b / 4) & 1;
    acc[0][lanes] = _mm512_add_ps(acc[0][lanes], terms);
  }
  finish_rows(acc, b, blocks, out, [&](int r, int64_t tail) {
    return scaled_term(a[tail].d, w[r][tail].d, fold(q6_k_integers(q6_k_weights(w[r][tail]), a[tail])));
  });
}

// All rows: four at a time, the rest through the single-row kernel.
template <void (*kFour)(const uint8_t*, int64_t, const uint8_t*, int64_t, float*),
          float (*kOne)(const uint8_t*, const uint8_t*, int64_t)>
void all_rows(const uint8_t* weight_rows, int64_t weight_stride, const uint8_t* activation_row, int64_t rows,
              int64_t n, float* out) {
  int64_t r = 0;
  for (; r + kRows <= rows; r += kRows)
    kFour(weight_rows + r * weight_stride, weight_stride, activation_row, n, out + r);
  for (; r < rows; ++r) out[r] = kOne(weight_rows + r * weight_stride, activation_row, n);
}

}  // namespace

void dot_rows_q4_k_avx512(const uint8_t* weight_rows, int64_t weight_stride, const uint8_t* activation_row,
                          int64_t rows, int64_t n, float* out) {
  all_rows<scaled_min_rows<BlockQ4_K, q4_k_weights>, dot_q4_k_avx512>(weight_rows, weight_stride,
                                                                      activation_row, rows, n, out);
}

void dot_rows_q5_k_avx512(const uint8_t* weight_rows, int64_t weight_stride, const uint8_t* activation_row,
                          int64_t rows, int64_t n, float* out) {
  all_rows<scaled_min_rows<BlockQ5_K, q5_k_weights>, dot_q5_k_avx512>(weight_rows, weight_stride,
                                                                      activation_row, rows, n, out);
}

void dot_rows_q6_k_avx512(const uint8_t* weight_rows, int64_t weight_stride, const uint8_t* activation_row,
                          int64_t rows, int64_t n, float* out) {
  all_rows<q6_k_rows, dot_q6_k_avx512>(weight_rows, weight_stride, activation_row, rows, n, out);
}

}  // namespace torchllm::kernels
