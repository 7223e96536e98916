#include "sampling/greedy_argmax.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstdint>
#include <limits>

namespace torchllm {
namespace {

constexpr int64_t kLanes = 16;
constexpr int64_t kSpan = 16 * kLanes;  // floats per step of the scan

// GCC vector types: each target clone below lowers them to its widest registers.
typedef float Floats __attribute__((vector_size(kLanes * sizeof(float))));
typedef int32_t Ints __attribute__((vector_size(kLanes * sizeof(int32_t))));

// The largest of v[0..kSpan) and whether any is NaN (v > m ? v : m is exactly maxps: no fast-math needed).
inline __attribute__((always_inline)) bool span_max(const float* v, float* best) {
  Floats m, x;
  __builtin_memcpy(&m, v, sizeof(m));
  Ints nan = m != m;
  for (int64_t i = kLanes; i < kSpan; i += kLanes) {
    __builtin_memcpy(&x, v + i, sizeof(x));
    m = x > m ? x : m;
    nan |= x != x;
  }
  float r = m[0];
  int32_t any_nan = nan[0];
  for (int64_t j = 1; j < kLanes; ++j) {
    r = m[j] > r ? m[j] : r;
    any_nan |= nan[j];
  }
  *best = r;
  return any_nan != 0;
}

// The first index of the largest value in v[begin, end) (or of its first NaN), scanning one element at a
// time: the tail of a row and the inside of the span where the maximum or a NaN was found.
inline int64_t scalar_argmax(const float* v, int64_t begin, int64_t end) {
  int64_t best = begin;
  for (int64_t i = begin; i < end; ++i) {
    if (v[i] != v[i]) return i;
    if (v[i] > v[best]) best = i;
  }
  return best;
}

__attribute__((target_clones("avx512f", "avx2", "default"))) int64_t row_argmax(const float* v, int64_t n) {
  // Only a strictly larger span maximum moves best_span, so it ends at the first span holding the maximum.
  float best = -std::numeric_limits<float>::infinity();
  int64_t best_span = -1;
  const int64_t spans = n / kSpan;
  for (int64_t s = 0; s < spans; ++s) {
    float m;
    if (span_max(v + s * kSpan, &m)) return scalar_argmax(v, s * kSpan, (s + 1) * kSpan);
    if (m > best || best_span < 0) {
      best = m;
      best_span = s;
    }
  }
  const int64_t tail = spans * kSpan;
  if (best_span < 0) return scalar_argmax(v, 0, n);
  const int64_t in_span = scalar_argmax(v, best_span * kSpan, (best_span + 1) * kSpan);
  if (tail == n) return in_span;
  const int64_t in_tail = scalar_argmax(v, tail, n);
  return v[in_tail] != v[in_tail] || v[in_tail] > v[in_span] ? in_tail : in_span;
}

}  // namespace

at::Tensor greedy_argmax(const at::Tensor& logits) {
  if (!logits.device().is_cpu() || logits.scalar_type() != at::kFloat || logits.dim() != 2 ||
      logits.size(1) == 0) {
    return logits.argmax(1);
  }
  const at::Tensor x = logits.contiguous();  // [rows, vocab]
  const int64_t rows = x.size(0), vocab = x.size(1);
  at::Tensor ids = at::empty({rows}, x.options().dtype(at::kLong));  // [rows]
  const float* data = x.data_ptr<float>();
  int64_t* out = ids.data_ptr<int64_t>();
  at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) out[r] = row_argmax(data + r * vocab, vocab);
  });
  return ids;
}

}  // namespace torchllm
