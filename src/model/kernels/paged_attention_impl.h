#pragma once

// The loop shared by the paged decode attention kernels (paged_attention.h), included by each ISA's file and
// compiled there for its instruction set. Everything here has internal linkage and it instantiates no
// template from outside (no std::min, no std::vector): a copy built with -mavx512f that the linker picked
// for the whole program would run on CPUs without AVX-512 (see block_dot.h).
//
// An `Ops` supplies a float32 vector `Vec` of `kWidth` lanes and static functions: zero(), set1(float),
// add(a, b), sub(a, b), mul(a, b), max(a, b), fmadd(a, b, c) = a * b + c, exp(Vec) (as exact as libm expf),
// reduce(Vec) and reduce_max(Vec) -> the sum and the maximum of the lanes, reduce_tile(const Vec v[kTile],
// float out[kTile]) -> out[t] the sum of v[t]'s lanes, store(float*, Vec), and load(p) of kWidth consecutive
// elements for p a `const float*`, `const Bf16*`, `const F16*` or `const Q8*` (the int8 values only, not
// scaled), widened to float32; load_pair(const Bf16* p, Vec& even, Vec& odd): the 2 kWidth elements at p, the
// even-numbered ones into `even` and the odd-numbered ones into `odd` (one load, one operation each: see
// Paired); mul_f64(v, x): each lane times the double x, rounded to float32; round_bf16(v): round_to<Bf16> of
// each lane. kAccumulators: how many Vec the tile loops may keep as sums. kWidth 1 with Vec = float is the
// scalar reference.

#include <cstdint>
#include <cstring>
#ifdef __AVX2__
#include <immintrin.h>
#endif

#include "model/kernels/kv_q8_0.h"
#include "model/kernels/paged_attention.h"
#include "model/quant/fp16.h"

namespace torchllm::kernels {
namespace {

// The 16-bit elements as their bits, as distinct types so that Ops::load can overload on them.
struct Bf16 {
  uint16_t bits;
};
struct F16 {
  uint16_t bits;
};
// One byte of a q8_0 row (kv_q8_0.h): an int8 value, or a byte of a scale. A row of Q8 is
// q8_row_bytes(head_dim) of them.
struct Q8 {
  int8_t value;
};
template <class T>
constexpr bool kIsQ8 = false;
template <>
constexpr bool kIsQ8<Q8> = true;
template <class T>
constexpr bool kIsF16 = false;
template <>
constexpr bool kIsF16<F16> = true;
template <class T>
constexpr bool kIsBf16 = false;
template <>
constexpr bool kIsBf16<Bf16> = true;

// kv_q8_row_bytes as this file's own function (internal linkage, see the top).
constexpr int64_t q8_row_bytes(int64_t head_dim) { return head_dim + head_dim / kKvQ8Block * 4; }
static_assert(q8_row_bytes(128) == kv_q8_row_bytes(128));

// The elements of T from one row of a pool to the next (the pools' last dimension).
template <class T>
int64_t row_stride(int64_t head_dim) {
  if constexpr (kIsQ8<T>) return q8_row_bytes(head_dim);
  return head_dim;
}

// A float32 rounded to the KV element type and widened back: what a matrix product or a cast in that type
// returns (round to nearest even; NaN kept).
template <class T>
float round_to(float x);
template <>
inline float round_to<float>(float x) {
  return x;
}
template <>
inline float round_to<Bf16>(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return x;
  u += 0x7fffu + ((u >> 16) & 1u);
  u &= 0xffff0000u;
  std::memcpy(&x, &u, 4);
  return x;
}
template <>
inline float round_to<F16>(float x) {
  return fp16_to_fp32(fp32_to_fp16(x));
}
// q8_0 pools are read as float32 (q * d): nothing is rounded, as for float32 pools.
template <>
inline float round_to<Q8>(float x) {
  return x;
}

// Query heads computed together from one read of their KV head's keys and values: their 8 score or output
// sums and the vector in flight fit AVX2's 16 registers. Bigger groups go 8 at a time (rereading K/V).
constexpr int kMaxGroup = static_cast<int>(kPagedScratchGroup);
// The largest head_dim: the queries and accumulators of a group live on the stack (2 x 8 x 512 floats,
// 32 KB).
constexpr int64_t kMaxHeadDim = 512;
// Keys scored (or values weighted) per call of score_tile (accumulate_tile): the horizontal sums of the
// scores go a tile at a time (reduce_tile).
constexpr int kTile = 8;

// __builtin_prefetch's locality: 3 = every cache level (prefetcht0).
constexpr int kPrefetchLocality = 3;
// How many keys past the tile about to be used their rows are prefetched, following the block table (see
// walk in attend_group): with 16-token blocks a block's rows of one head are only 4 KB (bf16, head_dim 128)
// and the hardware prefetcher starts over at each. Measured on one thread of a Zen 5, 2048 keys in 16-token
// blocks from DRAM, bf16 / q8_0 ns per key and KV head: 26 / 19 at 32, 29 / 26 at 16, 30 / 18 at 64; from L3
// it still saves 10-20%.
constexpr int kPrefetchAhead = 32;

// exp's Taylor coefficients 1/k!, k = 10 down to 0: on |r| <= ln 2 / 2 within 3e-13 of exp(r), so that a
// float64 exp rounded to float32 is float32's correctly rounded exp (as libm's expf, the scalar kernel's)
// but for the rarest ties.
constexpr double kExpTaylor[] = {1.0 / 3628800, 1.0 / 362880, 1.0 / 40320, 1.0 / 5040, 1.0 / 720, 1.0 / 120,
                                 1.0 / 24,      1.0 / 6,      1.0 / 2,     1.0,        1.0};
constexpr double kLog2eD = 1.4426950408889634, kLn2D = 0.6931471805599453;
// Below this a float32 exp is 0; clamping there keeps -inf from making NaN.
constexpr float kExpFloor = -104.0f;

#ifdef __AVX2__
// The lane sums of eight vectors, in order: a tree of horizontal adds (the AVX2 and AVX-512 kernels).
inline __m256 sum_eight(const __m256* v) {
  const __m256 s01 = _mm256_hadd_ps(v[0], v[1]), s23 = _mm256_hadd_ps(v[2], v[3]);
  const __m256 s45 = _mm256_hadd_ps(v[4], v[5]), s67 = _mm256_hadd_ps(v[6], v[7]);
  // Each 128-bit half: the partial sums of v0..v3 (v4..v7) over that half's lanes.
  const __m256 s03 = _mm256_hadd_ps(s01, s23), s47 = _mm256_hadd_ps(s45, s67);
  return _mm256_add_ps(_mm256_permute2f128_ps(s03, s47, 0x20), _mm256_permute2f128_ps(s03, s47, 0x31));
}
#endif

inline int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t max_i64(int64_t a, int64_t b) { return a > b ? a : b; }

// The last, partial vector of a row (head_dim % kWidth elements; only AVX-512 with head_dim % 16 == 8 has
// one): copied into a zero-padded buffer so that no load reads past the row.
template <class Ops, class T>
typename Ops::Vec load_partial(const T* p, int64_t lanes) {
  T padded[Ops::kWidth];
  std::memset(padded, 0, sizeof padded);
  std::memcpy(padded, p, lanes * sizeof(T));
  return Ops::load(padded);
}

// Elements [c W, c W + W) of a row as float32, W = Ops::kWidth (whole, never past the row). A q8_0 row's
// int8 values times their block's d: a chunk never spans two blocks (W divides 32), and q * d rounded once to
// float32 is exactly what dequantize_kv_row_q8 gives.
template <class Ops, class T>
typename Ops::Vec load_chunk(const T* row, int64_t c, int64_t head_dim) {
  constexpr int64_t W = Ops::kWidth;
  if constexpr (kIsQ8<T>) {
    float d;
    std::memcpy(&d, row + head_dim + c * W / kKvQ8Block * 4, sizeof d);
    return Ops::mul(Ops::load(row + c * W), Ops::set1(d));
  } else {
    (void)head_dim;
    return Ops::load(row + c * W);
  }
}

// Paired: a bf16 is the top half of a float32, so one load of 2 W of them gives the W even-numbered ones
// (shifted up) and the W odd-numbered ones (masked) in one operation each, half of widening each chunk. The
// queries and sums are then kept in that order, each 2 W of head_dim as its even then its odd elements:
// element i of head_dim sits at paired_index(i).
template <int64_t W>
int64_t paired_index(int64_t i) {
  const int64_t base = i / (2 * W) * (2 * W), j = i - base;
  return base + (j & 1) * W + j / 2;
}

// The state of one group of G query heads across the keys of one row.
template <class Ops, int G>
struct GroupState {
  float q[G][kMaxHeadDim];    // [G, head_dim] zero padded to whole vectors
  float acc[G][kMaxHeadDim];  // [G, head_dim] the sum of p * v so far
};

// The largest power of two <= budget, at least 1 and at most cap: how many keys (or chunks of head_dim) the
// tile loops below work on at once, so that their G x that many accumulators fit Ops::kAccumulators.
constexpr int power_of_two_within(int budget, int cap) {
  int p = 1;
  while (p * 2 <= budget && p * 2 <= cap) p *= 2;
  return p;
}

// Scores s = round(q . k) * scale of the tile's n keys for the G queries, into scores[g][0, n): the dot
// product rounded to the element type as the reference's matrix product in that type rounds it. Keys go kKeys
// at a time, chunk by chunk of head_dim: G x kKeys independent sums (the FMA latency hidden), each query
// chunk loaded once for them. Each sum still adds its key's chunks in order; each key's lanes are summed with
// the tile's other keys (reduce_tile), not one horizontal sum per key.
template <class Ops, class T, int G, bool kPaired>
void score_tile(GroupState<Ops, G>& st, const T* const* keys, int n, int64_t head_dim, float scale,
                float* const* scores) {
  using Vec = typename Ops::Vec;
  constexpr int64_t W = Ops::kWidth;
  constexpr int kKeys = power_of_two_within(Ops::kAccumulators / G, kTile);
  const int64_t full = head_dim / W, rest = kIsQ8<T> ? 0 : head_dim % W;  // q8_0: head_dim % 32 == 0
  Vec sums[G][kTile];
  int t0 = 0;
  for (; t0 < n; t0 += kKeys) {
    const T* k[kKeys];  // past the tile's n keys its last again, the sums unused
#pragma GCC unroll 8
    for (int j = 0; j < kKeys; ++j) k[j] = keys[t0 + j < n ? t0 + j : n - 1];
    Vec d[G][kKeys];
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
#pragma GCC unroll 8
      for (int j = 0; j < kKeys; ++j) d[g][j] = Ops::zero();
    }
    if constexpr (kPaired) {
      for (int64_t c = 0; c < full; c += 2) {
        Vec q[2][G];
#pragma GCC unroll 8
        for (int g = 0; g < G; ++g) {
          q[0][g] = Ops::load(st.q[g] + c * W);
          q[1][g] = Ops::load(st.q[g] + (c + 1) * W);
        }
#pragma GCC unroll 8
        for (int j = 0; j < kKeys; ++j) {
          Vec even, odd;
          Ops::load_pair(k[j] + c * W, even, odd);
#pragma GCC unroll 8
          for (int g = 0; g < G; ++g) d[g][j] = Ops::fmadd(q[1][g], odd, Ops::fmadd(q[0][g], even, d[g][j]));
        }
      }
    } else {
      for (int64_t c = 0; c < full; ++c) {
        Vec q[G];
#pragma GCC unroll 8
        for (int g = 0; g < G; ++g) q[g] = Ops::load(st.q[g] + c * W);
#pragma GCC unroll 8
        for (int j = 0; j < kKeys; ++j) {
          const Vec kv = load_chunk<Ops>(k[j], c, head_dim);
#pragma GCC unroll 8
          for (int g = 0; g < G; ++g) d[g][j] = Ops::fmadd(q[g], kv, d[g][j]);
        }
      }
    }
    if (rest != 0) {
#pragma GCC unroll 8
      for (int j = 0; j < kKeys; ++j) {
        const Vec kv = load_partial<Ops>(k[j] + full * W, rest);
#pragma GCC unroll 8
        for (int g = 0; g < G; ++g) d[g][j] = Ops::fmadd(Ops::load(st.q[g] + full * W), kv, d[g][j]);
      }
    }
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
#pragma GCC unroll 8
      for (int j = 0; j < kKeys; ++j) sums[g][t0 + j] = d[g][j];
    }
  }
  for (; t0 < kTile; ++t0) {
    for (int g = 0; g < G; ++g) sums[g][t0] = Ops::zero();
  }
  for (int g = 0; g < G; ++g) {
    float dots[kTile];
    Ops::reduce_tile(sums[g], dots);
    for (int t = 0; t < n; ++t) scores[g][t] = round_to<T>(dots[t]) * scale;
  }
}

// The softmax of one query's n scores in place, as the reference computes it in float32 (exp(s - max), times
// the reciprocal of their sum), each probability then rounded to the element type as the reference's cast
// before its product with the values.
template <class Ops, class T>
void softmax_row(float* s, int64_t n) {
  using Vec = typename Ops::Vec;
  constexpr int64_t W = Ops::kWidth;
  if (n == 0) return;
  const int64_t full = n / W * W;
  float top = s[0];
  if (full > 0) {
    Vec m = Ops::load(s);
    for (int64_t t = W; t < full; t += W) m = Ops::max(m, Ops::load(s + t));
    top = Ops::reduce_max(m);
  }
  for (int64_t t = full; t < n; ++t) top = s[t] > top ? s[t] : top;
  // The sum compensated (Kahan) lane by lane, then added up in float64: as good as the reference's sum
  // whatever the vector width, so that the ISAs round the same probabilities the same way.
  const Vec top_v = Ops::set1(top);
  Vec sum_v = Ops::zero(), lost_v = Ops::zero();
  for (int64_t t = 0; t < full; t += W) {
    const Vec e = Ops::exp(Ops::sub(Ops::load(s + t), top_v));
    Ops::store(s + t, e);
    const Vec y = Ops::sub(e, lost_v), next = Ops::add(sum_v, y);
    lost_v = Ops::sub(Ops::sub(next, sum_v), y);
    sum_v = next;
  }
  float sums[W], lost[W];
  Ops::store(sums, sum_v);
  Ops::store(lost, lost_v);
  double sum = 0.0;
  for (int64_t i = 0; i < W; ++i) sum += static_cast<double>(sums[i]) - lost[i];
  for (int64_t t = full; t < n; ++t) {
    s[t] = __builtin_expf(s[t] - top);
    sum += s[t];
  }
  const double inverse = 1.0 / sum;
  int64_t t = 0;
  if constexpr (!kIsF16<T>) {  // fp16's rounding stays scalar (fp32_to_fp16)
    for (; t < full; t += W) {
      Vec v = Ops::mul_f64(Ops::load(s + t), inverse);
      if constexpr (kIsBf16<T>) v = Ops::round_bf16(v);
      Ops::store(s + t, v);
    }
  }
  for (; t < n; ++t) s[t] = round_to<T>(static_cast<float>(s[t] * inverse));
}

// acc += p * v for the tile's keys in order, p[g][t] the probabilities of the tile's keys, on chunks [c, c +
// P) of head_dim: the G x P sums stay in registers across the keys (G x P independent FMA chains), and each
// key's P chunks are loaded once for the G heads.
template <class Ops, class T, int G, int P, bool kPaired>
void accumulate_panel(GroupState<Ops, G>& st, const T* const* values, int n, int64_t c, int64_t head_dim,
                      const float* const* p) {
  using Vec = typename Ops::Vec;
  constexpr int64_t W = Ops::kWidth;
  Vec o[G][P];
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g) {
#pragma GCC unroll 16
    for (int i = 0; i < P; ++i) o[g][i] = Ops::load(st.acc[g] + (c + i) * W);
  }
  for (int t = 0; t < n; ++t) {
    Vec v[P];
    if constexpr (kPaired) {
#pragma GCC unroll 8
      for (int i = 0; i < P; i += 2) Ops::load_pair(values[t] + (c + i) * W, v[i], v[i + 1]);
    } else {
#pragma GCC unroll 16
      for (int i = 0; i < P; ++i) v[i] = load_chunk<Ops>(values[t], c + i, head_dim);
    }
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      const Vec pg = Ops::set1(p[g][t]);
#pragma GCC unroll 16
      for (int i = 0; i < P; ++i) o[g][i] = Ops::fmadd(pg, v[i], o[g][i]);
    }
  }
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g) {
#pragma GCC unroll 16
    for (int i = 0; i < P; ++i) Ops::store(st.acc[g] + (c + i) * W, o[g][i]);
  }
}

// The whole chunks [c, full) in panels of P, then of P / 2, ... 1 (paired: 2, full being even).
template <class Ops, class T, int G, int P, bool kPaired>
void accumulate_chunks(GroupState<Ops, G>& st, const T* const* values, int n, int64_t c, int64_t full,
                       int64_t head_dim, const float* const* p) {
  for (; c + P <= full; c += P) accumulate_panel<Ops, T, G, P, kPaired>(st, values, n, c, head_dim, p);
  if constexpr (P > (kPaired ? 2 : 1)) {
    accumulate_chunks<Ops, T, G, P / 2, kPaired>(st, values, n, c, full, head_dim, p);
  }
}

// acc += sum over the tile of p * v, the keys added one after another to each element's sum.
template <class Ops, class T, int G, bool kPaired>
void accumulate_tile(GroupState<Ops, G>& st, const T* const* values, int n, int64_t head_dim,
                     const float* const* p) {
  using Vec = typename Ops::Vec;
  constexpr int64_t W = Ops::kWidth;
  constexpr int kChunks = power_of_two_within(Ops::kAccumulators / G, 16);
  const int64_t full = head_dim / W, rest = kIsQ8<T> ? 0 : head_dim % W;  // q8_0: head_dim % 32 == 0
  accumulate_chunks<Ops, T, G, kChunks, kPaired>(st, values, n, 0, full, head_dim, p);
  if (rest != 0) {
    Vec o[G];
    for (int g = 0; g < G; ++g) o[g] = Ops::load(st.acc[g] + full * W);
    for (int t = 0; t < n; ++t) {
      const Vec vv = load_partial<Ops>(values[t] + full * W, rest);
      for (int g = 0; g < G; ++g) o[g] = Ops::fmadd(Ops::set1(p[g][t]), vv, o[g]);
    }
    for (int g = 0; g < G; ++g) Ops::store(st.acc[g] + full * W, o[g]);
  }
}

// Query heads head0 .. head0 + G - 1 of `row`, all of KV head `kv_head`, in two passes over the row's
// blocks: every key's score (into `scores`), the softmax, then every value weighted by its probability. Not
// an online softmax: with the whole row's scores known first, each probability is rounded where the
// reference rounds it (bf16 / fp16 models), and the sums are those of the reference's softmax.
template <class Ops, class T, int G, bool kPaired>
void attend_group(const PagedDecodeArgs& a, int64_t row, int64_t kv_head, int64_t head0) {
  constexpr int64_t W = Ops::kWidth;
  const int64_t head_dim = a.head_dim, block_size = a.block_size;
  const int64_t padded_dim = (head_dim + W - 1) / W * W;
  GroupState<Ops, G> st;
  for (int g = 0; g < G; ++g) {
    const float* q = a.q + (row * a.q_heads + head0 + g) * head_dim;
    for (int64_t i = 0; i < padded_dim; ++i) {
      st.q[g][i] = 0.0f;
      st.acc[g][i] = 0.0f;
    }
    for (int64_t i = 0; i < head_dim; ++i) st.q[g][kPaired ? paired_index<W>(i) : i] = q[i];
  }

  const int64_t* table = a.block_tables + row * a.table_stride;
  const int64_t length = a.lengths[row];
  const int64_t first = a.window > 0 ? max_i64(0, length - a.window) : 0;
  const int64_t keys = length - first;
  float* scores[G];  // [G][keys] in the caller's scratch
  for (int g = 0; g < G; ++g) scores[g] = a.scratch + g * keys;

  // The pools are [num_blocks, kv_heads, block_size, stride]: head_dim elements, or a q8_0 row's bytes.
  const int64_t stride = row_stride<T>(head_dim);
  const int64_t row_bytes = stride * static_cast<int64_t>(sizeof(T));
  // Walks the row's rows of one pool by pointer in tiles of kTile, so that a tile spans blocks (block_size 1
  // costs no more per key than 256 in the math) and a block larger than a tile is cut; `use(tile, count,
  // first key)`.
  auto walk = [&](const T* pool, auto&& use) {
    // This head's row `offset` of the row's block `block`.
    const auto row_at = [&](int64_t block, int64_t offset) {
      return pool + ((table[block] * a.kv_heads + kv_head) * block_size + offset) * stride;
    };
    // The rows of the positions [ahead, until) asked into L1, a block's run of them (contiguous) at a time.
    int64_t ahead = first, ahead_block = first / block_size, ahead_offset = first - ahead_block * block_size;
    auto prefetch_until = [&](int64_t until) {
      while (ahead < until) {
        const int64_t count = min_i64(block_size - ahead_offset, until - ahead);
        const char* p = reinterpret_cast<const char*>(row_at(ahead_block, ahead_offset));
        const char* end = p + count * row_bytes;
        for (p -= reinterpret_cast<uintptr_t>(p) & 63; p < end; p += 64) {
          __builtin_prefetch(p, 0, kPrefetchLocality);
        }
        ahead += count;
        ahead_offset += count;
        if (ahead_offset == block_size) {
          ++ahead_block;
          ahead_offset = 0;
        }
      }
    };
    prefetch_until(min_i64(length, first + kPrefetchAhead));
    const T* rows[kTile];
    int n = 0;
    int64_t tile_start = 0;
    for (int64_t pos = first; pos < length;) {
      const int64_t block = pos / block_size, offset = pos - block * block_size;
      const int64_t count = min_i64(block_size - offset, length - pos);
      const T* r = row_at(block, offset);  // the block's rows of this head lie stride apart
      for (int64_t left = count; left > 0;) {
        const int take = static_cast<int>(min_i64(left, kTile - n));
        for (int i = 0; i < take; ++i) rows[n + i] = r + i * stride;
        r += take * stride;
        left -= take;
        if ((n += take) == kTile) {
          prefetch_until(min_i64(length, first + tile_start + kTile + kPrefetchAhead));
          use(rows, kTile, tile_start);
          tile_start += kTile;
          n = 0;
        }
      }
      pos += count;
    }
    if (n > 0) use(rows, n, tile_start);
  };

  walk(static_cast<const T*>(a.keys), [&](const T* const* tile, int n, int64_t key) {
    float* at[G];
    for (int g = 0; g < G; ++g) at[g] = scores[g] + key;
    score_tile<Ops, T, G, kPaired>(st, tile, n, head_dim, a.scale, at);
  });
  for (int g = 0; g < G; ++g) softmax_row<Ops, T>(scores[g], keys);
  walk(static_cast<const T*>(a.values), [&](const T* const* tile, int n, int64_t key) {
    const float* at[G];
    for (int g = 0; g < G; ++g) at[g] = scores[g] + key;
    accumulate_tile<Ops, T, G, kPaired>(st, tile, n, head_dim, at);
  });

  for (int g = 0; g < G; ++g) {
    float* out = a.out + (row * a.q_heads + head0 + g) * head_dim;
    for (int64_t i = 0; i < head_dim; ++i) {
      out[i] = st.acc[g][kPaired ? paired_index<W>(i) : i];  // zeros for a row without keys
    }
  }
}

// bf16 rows read in pairs of chunks (Paired) where head_dim is whole pairs and the sums of two chunks fit.
template <class Ops, class T, int G>
void attend_group(const PagedDecodeArgs& a, int64_t row, int64_t kv_head, int64_t head0) {
  if constexpr (kIsBf16<T> && Ops::kAccumulators / G >= 2) {
    if (a.head_dim % (2 * Ops::kWidth) == 0) return attend_group<Ops, T, G, true>(a, row, kv_head, head0);
  }
  attend_group<Ops, T, G, false>(a, row, kv_head, head0);
}

template <class Ops, class T>
void attend_item(const PagedDecodeArgs& a, int64_t item) {
  const int64_t row = item / a.kv_heads, kv_head = item % a.kv_heads;
  const int64_t group = a.q_heads / a.kv_heads;
  for (int64_t done = 0; done < group; done += kMaxGroup) {
    const int64_t head0 = kv_head * group + done;
    switch (min_i64(group - done, kMaxGroup)) {
      case 1:
        attend_group<Ops, T, 1>(a, row, kv_head, head0);
        break;
      case 2:
        attend_group<Ops, T, 2>(a, row, kv_head, head0);
        break;
      case 3:
        attend_group<Ops, T, 3>(a, row, kv_head, head0);
        break;
      case 4:
        attend_group<Ops, T, 4>(a, row, kv_head, head0);
        break;
      case 5:
        attend_group<Ops, T, 5>(a, row, kv_head, head0);
        break;
      case 6:
        attend_group<Ops, T, 6>(a, row, kv_head, head0);
        break;
      case 7:
        attend_group<Ops, T, 7>(a, row, kv_head, head0);
        break;
      default:
        attend_group<Ops, T, 8>(a, row, kv_head, head0);
        break;
    }
  }
}

// Work items [begin, end) of rows x kv_heads; each is computed on its own, so any split gives the same
// floats.
template <class Ops>
void paged_decode_range(const PagedDecodeArgs& a, int64_t begin, int64_t end) {
  for (int64_t item = begin; item < end; ++item) {
    switch (a.element) {
      case KvElement::kF32:
        attend_item<Ops, float>(a, item);
        break;
      case KvElement::kBF16:
        attend_item<Ops, Bf16>(a, item);
        break;
      case KvElement::kF16:
        attend_item<Ops, F16>(a, item);
        break;
      case KvElement::kQ8_0:
        attend_item<Ops, Q8>(a, item);
        break;
    }
  }
}

}  // namespace
}  // namespace torchllm::kernels
