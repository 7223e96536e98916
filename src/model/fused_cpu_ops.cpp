#include "model/fused_cpu_ops.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "model/kernels/bf16_bits.h"
#include "model/kernels/kv_q8_0.h"
#include "model/kv_quantization.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

// Work one thread takes at least, about as long as an OpenMP fork (a few microseconds): rows of a norm,
// heads of a rotation, elements of silu.
constexpr int64_t kRowGrain = 16;
constexpr int64_t kHeadGrain = 8;
constexpr int64_t kElementGrain = 1024;

template <typename T>
float load(T v) {
  return static_cast<float>(v);
}
// v rounded to T (c10's conversions round to nearest even, as libtorch's casts) and widened back.
template <typename T>
float rounded(float v) {
  return static_cast<float>(static_cast<T>(v));
}

// 1 / sqrt(mean(x^2) + eps) as libtorch evaluates xf.pow(2).mean(-1) + eps and rsqrt in float32.
// The squares are summed in double, eight running sums (one chain of dependent additions took 4 cycles an
// element: 3% of a batch-16 decode step); float32 keeps none of the difference the order makes.
template <typename T>
float inverse_rms(const T* x, int64_t n, double eps) {
  constexpr int64_t kSums = 8;
  double sums[kSums] = {};
  int64_t i = 0;
  for (; i + kSums <= n; i += kSums) {
    for (int64_t j = 0; j < kSums; ++j) {
      const float f = load(x[i + j]);
      sums[j] += static_cast<double>(f * f);
    }
  }
  for (; i < n; ++i) {
    const float f = load(x[i]);
    sums[0] += static_cast<double>(f * f);
  }
  double sum = 0;
  for (double s : sums) sum += s;
  const float mean = static_cast<float>(sum) / static_cast<float>(n);
  return 1.0f / std::sqrt(mean + static_cast<float>(eps));
}

// out = weight * (x * r).to(T), each product rounded to T; out may be a float buffer (then T's roundings
// are kept as floats).
template <typename T, typename Out>
void rms_norm_row(const T* x, const T* weight, Out* out, int64_t n, double eps) {
  const float r = inverse_rms(x, n, eps);
  for (int64_t i = 0; i < n; ++i)
    out[i] = static_cast<Out>(rounded<T>(load(weight[i]) * rounded<T>(load(x[i]) * r)));
}

// apply_rope on one head: y * cos + rotate_half(y) * sin, each product and the sum rounded to T.
template <typename T>
void rotate_half_row(const float* y, const T* cos, const T* sin, T* out, int64_t d) {
  const int64_t half = d / 2;
  // rotate_half(y) is [-y[half:], y[:half]]: one loop per half, so that each vectorizes.
  for (int64_t i = 0; i < half; ++i)
    out[i] = static_cast<T>(rounded<T>(y[i] * load(cos[i])) + rounded<T>(-y[i + half] * load(sin[i])));
  for (int64_t i = half; i < d; ++i)
    out[i] = static_cast<T>(rounded<T>(y[i] * load(cos[i])) + rounded<T>(y[i - half] * load(sin[i])));
}

template <typename T>
void rms_norm_rows(const at::Tensor& x, const at::Tensor& weight, at::Tensor& out, double eps) {
  const int64_t dim = x.size(-1), rows = x.numel() / dim;
  const T* src = x.data_ptr<T>();
  const T* w = weight.data_ptr<T>();
  T* dst = out.data_ptr<T>();
  at::parallel_for(0, rows, kRowGrain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) rms_norm_row(src + r * dim, w, dst + r * dim, dim, eps);
  });
}

template <typename T>
void qk_rope_store(const at::Tensor& qkv, const QkvLayout& l, const at::Tensor& q_norm,
                   const at::Tensor& k_norm, double eps, const at::Tensor& cos, const at::Tensor& sin,
                   const at::Tensor& key_pool, const at::Tensor& value_pool, const at::Tensor& blocks,
                   const at::Tensor& offsets, at::Tensor& q_out) {
  const int64_t tokens = qkv.size(0), d = l.head_dim, row_len = qkv.size(1);
  const T* src = qkv.data_ptr<T>();
  const T* cos_rows = cos.data_ptr<T>();  // [tokens, d]
  const T* sin_rows = sin.data_ptr<T>();
  const T* qw = q_norm.defined() ? q_norm.data_ptr<T>() : nullptr;
  const T* kw = k_norm.defined() ? k_norm.data_ptr<T>() : nullptr;
  // A q8_0 cache's pools are uint8 rows (kv_q8_0.h): k and v are rounded to T as a cache of T would hold
  // them, then quantized.
  const bool q8 = holds_q8_rows(key_pool);
  T* keys = q8 ? nullptr : key_pool.data_ptr<T>();
  T* values = q8 ? nullptr : value_pool.data_ptr<T>();
  uint8_t* key_rows = q8 ? key_pool.data_ptr<uint8_t>() : nullptr;
  uint8_t* value_rows = q8 ? value_pool.data_ptr<uint8_t>() : nullptr;
  const int64_t* block = blocks.data_ptr<int64_t>();
  const int64_t* offset = offsets.data_ptr<int64_t>();
  T* q = q_out.data_ptr<T>();
  // [blocks, kv_heads, block_size, head_dim (or row bytes)] strides of each pool (the last one's is 1)
  const int64_t ks0 = key_pool.stride(0), ks1 = key_pool.stride(1), ks2 = key_pool.stride(2);
  const int64_t vs0 = value_pool.stride(0), vs1 = value_pool.stride(1), vs2 = value_pool.stride(2);
  // Items are (token, head) pairs, q heads first: one token's heads are worth splitting over the threads.
  const int64_t heads = l.heads + l.kv_heads;
  at::parallel_for(0, tokens * heads, kHeadGrain, [&](int64_t begin, int64_t end) {
    std::vector<float> y(static_cast<size_t>(d));
    std::vector<T> rotated(q8 ? static_cast<size_t>(d) : 0);
    auto prepare = [&](const T* head, const T* norm_weight) {  // y = the head, normed when it has a norm
      if (norm_weight) {
        rms_norm_row(head, norm_weight, y.data(), d, eps);
      } else {
        for (int64_t i = 0; i < d; ++i) y[i] = load(head[i]);
      }
    };
    for (int64_t item = begin; item < end; ++item) {
      const int64_t t = item / heads, h = item % heads;
      const T* row = src + t * row_len;
      const T* c = cos_rows + t * d;
      const T* s = sin_rows + t * d;
      if (h < l.heads) {
        prepare(row + h * d, qw);
        rotate_half_row(y.data(), c, s, q + (t * l.heads + h) * d, d);
        continue;
      }
      const int64_t kv = h - l.heads;
      const int64_t k_at = block[t] * ks0 + kv * ks1 + offset[t] * ks2;
      const int64_t v_at = block[t] * vs0 + kv * vs1 + offset[t] * vs2;
      const T* v = row + (heads + kv) * d;
      prepare(row + h * d, kw);
      if (!q8) {
        rotate_half_row(y.data(), c, s, keys + k_at, d);
        for (int64_t i = 0; i < d; ++i) values[v_at + i] = v[i];
        continue;
      }
      rotate_half_row(y.data(), c, s, rotated.data(), d);
      for (int64_t i = 0; i < d; ++i) y[i] = load(rotated[i]);
      quantize_kv_row_q8(y.data(), d, key_rows + k_at);
      for (int64_t i = 0; i < d; ++i) y[i] = load(v[i]);
      quantize_kv_row_q8(y.data(), d, value_rows + v_at);
    }
  });
}

// exp(x) in float32 within about one unit in the last place, as plain arithmetic that the compiler
// vectorizes (a call to expf does not vectorize, and was most of silu's time in a prefill): Cody-Waite
// reduction x = n ln2 + r, Cephes' degree-6 polynomial for e^r, then 2^n applied as two powers so that
// neither overflows the exponent field (results from overflow to infinity down to the subnormals). Without
// FMA (the file has -ffp-contract=off), every clone below computes the same floats.
inline float exp_approx(float x) {
  x = x > 89.0f ? 89.0f : x;  // e^89 is already infinite in float32; NaN passes both tests
  x = x < -104.0f ? -104.0f : x;
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float n = (x * 1.44269504088896341f + magic) - magic;
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const int32_t k = static_cast<int32_t>(n), k1 = k / 2, k2 = k - k1;
  float s1, s2;
  const int32_t b1 = (k1 + 127) << 23, b2 = (k2 + 127) << 23;
  std::memcpy(&s1, &b1, 4);
  std::memcpy(&s2, &b2, 4);
  return p * s1 * s2;
}

// One row's silu(g) * u: libtorch 1.13's silu runs x / (1 + exp(-x)) in the dtype, with exp, the sum and the
// quotient each rounded. Cloned per instruction set (the ifunc picks one at load).
__attribute__((target_clones("avx512f", "avx2", "default"))) void silu_mul_row_bf16(const uint16_t* g,
                                                                                    const uint16_t* u,
                                                                                    uint16_t* out,
                                                                                    int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float x = bf16_bits_to_float(g[i]);
    const float silu = round_bf16(x / round_bf16(1.0f + round_bf16(exp_approx(-x))));
    out[i] = float_to_bf16_bits(silu * bf16_bits_to_float(u[i]));
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void silu_mul_row_f32(const float* g,
                                                                                   const float* u, float* out,
                                                                                   int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = g[i] / (1.0f + exp_approx(-g[i])) * u[i];
}

template <typename T>
void silu_mul_row(const T* g, const T* u, T* out, int64_t n) {
  if constexpr (std::is_same_v<T, c10::BFloat16>) {
    silu_mul_row_bf16(reinterpret_cast<const uint16_t*>(g), reinterpret_cast<const uint16_t*>(u),
                      reinterpret_cast<uint16_t*>(out), n);
  } else if constexpr (std::is_same_v<T, float>) {
    silu_mul_row_f32(g, u, out, n);
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const float x = load(g[i]);
      const float silu = rounded<T>(x / rounded<T>(1.0f + rounded<T>(exp_approx(-x))));
      out[i] = static_cast<T>(silu * load(u[i]));
    }
  }
}

template <typename T>
void silu_mul(const at::Tensor& gate_up, at::Tensor& out) {
  const int64_t n = out.size(1);
  const T* src = gate_up.data_ptr<T>();
  T* dst = out.data_ptr<T>();
  // Over all output elements: one token's few thousand exps are worth splitting over the threads.
  at::parallel_for(0, out.numel(), kElementGrain, [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end;) {
      const int64_t t = e / n, i = e % n, count = std::min(n - i, end - e);
      silu_mul_row(src + t * 2 * n + i, src + t * 2 * n + n + i, dst + e, count);
      e += count;
    }
  });
}

template <typename F>
void dispatch(at::ScalarType dtype, F&& f) {
  switch (dtype) {
    case at::kFloat:
      f(float{});
      return;
    case at::kBFloat16:
      f(c10::BFloat16{});
      return;
    case at::kHalf:
      f(c10::Half{});
      return;
    default:
      throw Error::internal(std::string("fused CPU ops: no ") + c10::toString(dtype) + " kernel");
  }
}

void require(bool ok, const char* what) {
  if (!ok) throw Error::internal(std::string("fused CPU ops: ") + what);
}

bool same_kind(const at::Tensor& t, const at::Tensor& x) {
  return t.defined() && t.is_cpu() && t.is_contiguous() && t.scalar_type() == x.scalar_type();
}

}  // namespace

bool fused_cpu_ops_apply(const at::Tensor& x) {
  if (!x.defined() || !x.is_cpu() || !x.is_contiguous()) return false;
  const auto dtype = x.scalar_type();
  return dtype == at::kFloat || dtype == at::kBFloat16 || dtype == at::kHalf;
}

at::Tensor fused_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  require(fused_cpu_ops_apply(x) && x.dim() >= 1 && same_kind(weight, x) && weight.numel() == x.size(-1),
          "rms_norm wants x [..., dim] and weight [dim] of one dtype");
  at::Tensor out = at::empty_like(x);
  dispatch(x.scalar_type(), [&](auto tag) { rms_norm_rows<decltype(tag)>(x, weight, out, eps); });
  return out;
}

at::Tensor fused_qk_rope_store(const at::Tensor& qkv, const QkvLayout& layout, const at::Tensor& q_norm,
                               const at::Tensor& k_norm, double eps, const at::Tensor& cos,
                               const at::Tensor& sin, const at::Tensor& key_pool,
                               const at::Tensor& value_pool, const at::Tensor& blocks,
                               const at::Tensor& offsets) {
  const int64_t tokens = qkv.size(0), d = layout.head_dim;
  require(
      fused_cpu_ops_apply(qkv) && qkv.dim() == 2 && qkv.size(1) == (layout.heads + 2 * layout.kv_heads) * d,
      "qkv wants [tokens, (heads + 2 kv_heads) * head_dim]");
  require(d % 2 == 0 && same_kind(cos, qkv) && same_kind(sin, qkv) && cos.numel() == tokens * d &&
              sin.numel() == tokens * d,
          "cos and sin want [tokens, 1, head_dim] in qkv's dtype");
  for (const at::Tensor* norm : {&q_norm, &k_norm}) {
    require(!norm->defined() || (same_kind(*norm, qkv) && norm->numel() == d),
            "a q/k norm weight wants [head_dim]");
  }
  for (const at::Tensor* pool : {&key_pool, &value_pool}) {
    const bool q8 = holds_q8_rows(*pool) && kv_q8_fits(d);
    require(pool->is_cpu() && (pool->scalar_type() == qkv.scalar_type() || q8) && pool->dim() == 4 &&
                pool->size(1) == layout.kv_heads && pool->size(3) == (q8 ? kv_q8_row_bytes(d) : d) &&
                pool->stride(3) == 1 && pool->scalar_type() == key_pool.scalar_type(),
            "the pools want [blocks, kv_heads, block_size, head_dim] in qkv's dtype, or q8_0 rows");
  }
  const at::Tensor block_ids = blocks.to(at::kLong).contiguous();
  const at::Tensor block_offsets = offsets.to(at::kLong).contiguous();
  require(block_ids.is_cpu() && block_offsets.is_cpu() && block_ids.numel() == tokens &&
              block_offsets.numel() == tokens,
          "blocks and offsets want [tokens] on the CPU");
  const int64_t* b = block_ids.data_ptr<int64_t>();
  const int64_t* o = block_offsets.data_ptr<int64_t>();
  for (int64_t t = 0; t < tokens; ++t) {  // the writes below trust them
    require(b[t] >= 0 && b[t] < key_pool.size(0) && o[t] >= 0 && o[t] < key_pool.size(2),
            "a K/V write falls outside the pool");
  }
  at::Tensor q = at::empty({tokens, layout.heads, d}, qkv.options());  // [tokens, heads, head_dim]
  dispatch(qkv.scalar_type(), [&](auto tag) {
    qk_rope_store<decltype(tag)>(qkv, layout, q_norm, k_norm, eps, cos, sin, key_pool, value_pool, block_ids,
                                 block_offsets, q);
  });
  return q;
}

at::Tensor fused_silu_mul(const at::Tensor& gate_up) {
  require(fused_cpu_ops_apply(gate_up) && gate_up.dim() == 2 && gate_up.size(1) % 2 == 0,
          "silu_mul wants gate_up [tokens, 2 n]");
  at::Tensor out = at::empty({gate_up.size(0), gate_up.size(1) / 2}, gate_up.options());  // [tokens, n]
  dispatch(gate_up.scalar_type(), [&](auto tag) { silu_mul<decltype(tag)>(gate_up, out); });
  return out;
}

}  // namespace torchllm
