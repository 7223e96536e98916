#pragma once

// Every difference between the libtorch versions torchllm builds against (Debian's 1.13, 2.x wheels) lives
// here.

#include <ATen/ATen.h>
#include <c10/util/Optional.h>
#include <torch/version.h>

#include <cmath>
#include <limits>

namespace torchllm::compat {

#define TORCHLLM_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

inline bool has_mps() { return at::hasMPS(); }
inline int cuda_device_count() { return static_cast<int>(at::getNumGPUs()); }

// Scaled dot-product attention with grouped-query heads.
//   q [batch, q_heads, q_len, head_dim], k/v [batch, kv_heads, kv_len, head_dim] (q_heads a multiple of
//   kv_heads) mask: optional bool [batch or 1, 1, q_len, kv_len], true = may attend. is_causal: top-left
//   aligned causal mask.
// Returns [batch, q_heads, q_len, head_dim].
//
// With a mask (or without causality), the query heads of each KV head are folded into the query axis, so K/V
// keep their head count and the mask never meets grouped heads: libtorch's fused kernels reject a mask with
// GQA (flash takes no mask, memory-efficient no GQA) and would fall back to the slow math kernel.
inline at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const c10::optional<at::Tensor>& mask, bool is_causal) {
  const int64_t groups = q.size(1) / k.size(1);
  const int64_t b = q.size(0), hq = q.size(1), t = q.size(2), d = q.size(3), hkv = k.size(1), s = k.size(2);
#if TORCHLLM_TORCH_AT_LEAST(2, 0)
  if (groups > 1 && (mask.has_value() || !is_causal)) {
    at::Tensor qg = q.reshape({b, hkv, groups * t, d});  // [b, hkv, g*t, d]: row r*t + i is head r's query i
    c10::optional<at::Tensor> folded;
    if (mask.has_value()) folded = t == 1 ? *mask : mask->repeat({1, 1, groups, 1});  // [b or 1, 1, g*t, s]
    if (is_causal) {  // the causal structure is per query position, repeated for every head of the group
      at::Tensor causal = at::ones({t, s}, q.options().dtype(at::kBool)).tril().repeat({groups, 1});
      folded = folded.has_value() ? folded->logical_and(causal) : causal.view({1, 1, groups * t, s});
    }
    return at::scaled_dot_product_attention(qg, k, v, folded, 0.0, false).reshape({b, hq, t, d});
  }
#endif
#if TORCHLLM_TORCH_AT_LEAST(2, 5)
  return at::scaled_dot_product_attention(q, k, v, mask, 0.0, is_causal, c10::nullopt,
                                          /*enable_gqa=*/groups > 1);
#elif TORCHLLM_TORCH_AT_LEAST(2, 0)
  const at::Tensor kr = groups > 1 ? k.repeat_interleave(groups, 1) : k;
  const at::Tensor vr = groups > 1 ? v.repeat_interleave(groups, 1) : v;
  return at::scaled_dot_product_attention(q, kr, vr, mask, 0.0, is_causal);
#else
  // 1.13 has no public SDPA: grouped math without repeating K/V. Query heads of one group are stacked along
  // the query axis so each K/V head is read once.
  at::Tensor qg = q.reshape({b, hkv, groups * t, d});                      // [b, hkv, g*t, d]
  at::Tensor scores = at::matmul(qg, k.transpose(-1, -2)).to(at::kFloat);  // [b, hkv, g*t, s]
  scores.mul_(1.0 / std::sqrt(static_cast<double>(d)));
  scores = scores.view({b, hkv, groups, t, s});
  at::Tensor allowed;
  if (mask.has_value()) allowed = mask->view({mask->size(0), 1, 1, t, s});
  if (is_causal) {
    at::Tensor causal = at::ones({t, s}, q.options().dtype(at::kBool)).tril();
    allowed = allowed.defined() ? allowed.logical_and(causal) : causal;
  }
  if (allowed.defined()) scores.masked_fill_(allowed.logical_not(), -std::numeric_limits<float>::infinity());
  at::Tensor probs = at::softmax(scores, -1).to(q.scalar_type()).view({b, hkv, groups * t, s});
  return at::matmul(probs, v).view({b, hq, t, d});
#endif
}

}  // namespace torchllm::compat
