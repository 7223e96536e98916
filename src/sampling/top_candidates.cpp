#include "sampling/top_candidates.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace torchllm {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr int64_t kLanes = 16;
typedef float Floats __attribute__((vector_size(kLanes * sizeof(float))));
typedef int32_t Ints __attribute__((vector_size(kLanes * sizeof(int32_t))));

struct Entry {
  float value;
  int64_t id;
};

// Candidate order: NaN first, then larger logits, then lower ids.
bool before(const Entry& a, const Entry& b) {
  const bool a_nan = std::isnan(a.value), b_nan = std::isnan(b.value);
  if (a_nan != b_nan) return a_nan;
  if (!a_nan && a.value != b.value) return a.value > b.value;
  return a.id < b.id;
}

// The start of the first whole chunk of kLanes values in v[0, n) that holds one above `threshold` or a NaN,
// or the end of the whole chunks (n rounded down to kLanes).
__attribute__((target_clones("avx512f", "avx2", "default"))) int64_t next_chunk_above(const float* v,
                                                                                      int64_t n,
                                                                                      float threshold) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    Floats x;
    __builtin_memcpy(&x, v + i, sizeof x);
    const Ints hit = (x > threshold) | (x != x);
    int32_t any = 0;
    for (int64_t j = 0; j < kLanes; ++j) any |= hit[j];
    if (any != 0) return i;
  }
  return i;
}

// Keeps the `count` first entries of `kept` in candidate order (unordered) and returns the value of the last
// one, below which nothing can enter any more: a later equal value has a higher id and loses the tie.
float trim(std::vector<Entry>& kept, int64_t count) {
  std::nth_element(kept.begin(), kept.begin() + (count - 1), kept.end(), before);
  kept.resize(static_cast<size_t>(count));
  const float last = kept.back().value;
  return std::isnan(last) ? std::numeric_limits<float>::infinity() : last;
}

void top_of_row(const float* v, int64_t vocab, int64_t count, int64_t width, float* values, int64_t* ids,
                std::vector<Entry>& kept) {
  kept.clear();
  // Until `count` are kept every finite value (or NaN) enters; then only those above the threshold. -inf
  // never enters here: it fills the places left at the end.
  float threshold = kNegInf;
  const size_t cap = static_cast<size_t>(std::max<int64_t>(4 * count, 256));
  const auto visit = [&](int64_t i) {
    const float x = v[i];
    if (x > threshold || std::isnan(x)) {
      kept.push_back({x, i});
      if (kept.size() >= cap) threshold = trim(kept, count);
    }
  };
  const int64_t whole = vocab / kLanes * kLanes;
  for (int64_t i = next_chunk_above(v, whole, threshold); i < whole;
       i += kLanes + next_chunk_above(v + i + kLanes, whole - i - kLanes, threshold)) {
    for (int64_t j = i; j < i + kLanes; ++j) visit(j);
  }
  for (int64_t i = whole; i < vocab; ++i) visit(i);
  if (static_cast<int64_t>(kept.size()) > count) trim(kept, count);
  std::sort(kept.begin(), kept.end(), before);
  int64_t place = 0;
  for (const Entry& e : kept) {
    values[place] = e.value;
    ids[place++] = e.id;
  }
  // Too few values above -inf: the lowest ids of the -inf ones, then places past the count.
  for (int64_t t = 0; t < vocab && place < count; ++t) {
    if (v[t] == kNegInf) {
      values[place] = kNegInf;
      ids[place++] = t;
    }
  }
  for (; place < width; ++place) {
    values[place] = kNegInf;
    ids[place] = 0;
  }
}

// Keys whose increasing order is candidate order: larger logits first, every NaN first of all, -0 as 0.
uint32_t candidate_key(float x) {
  if (std::isnan(x)) return 0;
  if (x == 0.0f) x = 0.0f;
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  const uint32_t increasing = bits & 0x80000000u ? ~bits : bits | 0x80000000u;
  return ~increasing;
}

// Stable least-significant-digit radix sort of (key, id) pairs by key, in `kDigitBits` digits; a digit that
// every key shares is skipped.
constexpr int kDigitBits = 11;
constexpr uint32_t kBuckets = 1u << kDigitBits;

struct SortBuffers {
  std::vector<uint32_t> keys, ids, spare_keys, spare_ids;
  std::vector<uint32_t> counts;
};

void sort_row(const float* v, int64_t vocab, float* values, int64_t* ids, SortBuffers& b) {
  const auto n = static_cast<size_t>(vocab);
  b.keys.resize(n);
  b.ids.resize(n);
  b.spare_keys.resize(n);
  b.spare_ids.resize(n);
  b.counts.resize(kBuckets);
  for (size_t i = 0; i < n; ++i) {
    b.keys[i] = candidate_key(v[i]);
    b.ids[i] = static_cast<uint32_t>(i);
  }
  for (int shift = 0; shift < 32; shift += kDigitBits) {
    std::fill(b.counts.begin(), b.counts.end(), 0u);
    for (size_t i = 0; i < n; ++i) ++b.counts[(b.keys[i] >> shift) & (kBuckets - 1)];
    if (*std::max_element(b.counts.begin(), b.counts.end()) == n) continue;
    uint32_t start = 0;
    for (uint32_t& c : b.counts) {
      const uint32_t count = c;
      c = start;
      start += count;
    }
    for (size_t i = 0; i < n; ++i) {
      const uint32_t place = b.counts[(b.keys[i] >> shift) & (kBuckets - 1)]++;
      b.spare_keys[place] = b.keys[i];
      b.spare_ids[place] = b.ids[i];
    }
    b.keys.swap(b.spare_keys);
    b.ids.swap(b.spare_ids);
  }
  for (size_t i = 0; i < n; ++i) {
    ids[i] = b.ids[i];
    values[i] = v[b.ids[i]];
  }
}

// Fills values and ids [rows, width] row by row on all threads: row(scratch, src row, values row, ids row),
// with one Scratch per thread.
template <typename Scratch, typename F>
void fill_rows(const at::Tensor& logits, int64_t width, at::Tensor& values, at::Tensor& ids, F&& row) {
  const at::Tensor x = logits.contiguous();  // [rows, vocab]
  const int64_t rows = x.size(0), vocab = x.size(1);
  values = at::empty({rows, width}, x.options());                // [rows, width]
  ids = at::empty({rows, width}, x.options().dtype(at::kLong));  // [rows, width]
  const float* src = x.data_ptr<float>();
  float* out_values = values.data_ptr<float>();
  int64_t* out_ids = ids.data_ptr<int64_t>();
  at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
    Scratch scratch;
    for (int64_t r = begin; r < end; ++r) {
      row(scratch, r, src + r * vocab, vocab, out_values + r * width, out_ids + r * width);
    }
  });
}

}  // namespace

void sorted_candidates_cpu(const at::Tensor& logits, at::Tensor& values, at::Tensor& ids) {
  fill_rows<SortBuffers>(logits, logits.size(1), values, ids,
                         [](SortBuffers& buffers, int64_t, const float* v, int64_t vocab, float* out_values,
                            int64_t* out_ids) { sort_row(v, vocab, out_values, out_ids, buffers); });
}

void top_candidates_cpu(const at::Tensor& logits, const int64_t* counts, int64_t width, at::Tensor& values,
                        at::Tensor& ids) {
  fill_rows<std::vector<Entry>>(
      logits, width, values, ids,
      [&](std::vector<Entry>& kept, int64_t r, const float* v, int64_t vocab, float* out_values,
          int64_t* out_ids) { top_of_row(v, vocab, counts[r], width, out_values, out_ids, kept); });
}

}  // namespace torchllm
