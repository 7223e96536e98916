#pragma once

// A transformer layer's elementwise work on the CPU in one pass per step instead of libtorch 1.13's chain of
// small ops (RMSNorm alone is eight): at decode each op costs microseconds of dispatch, allocation and an
// OpenMP fork, which for a small model's 28 layers was ~30% of a token's time while the other thread waited.
//
// Each function computes what the libtorch expression it replaces computes, rounding to the model's dtype
// after every operation that libtorch rounds after (bf16 and fp16 ops compute in float32 and round their
// result). Only a sum differs: RMSNorm's sum of squares is added in float64 here, in a cascade of float32
// there, so the two can differ in the last float32 bit of the mean.

#include <ATen/Tensor.h>

namespace torchllm {

// Whether the fused functions take x: a contiguous float32, bf16 or fp16 CPU tensor.
bool fused_cpu_ops_apply(const at::Tensor& x);

// transformers' RMSNorm over the last dimension: weight * (x * rsqrt(mean(x^2) + eps)).to(dtype), in float32.
// x [..., dim] contiguous, weight [dim] in x's dtype.
at::Tensor fused_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

struct QkvLayout {
  int64_t heads = 0, kv_heads = 0, head_dim = 0;
};

// A layer's attention inputs from its fused projection qkv [tokens, (heads + 2 kv_heads) * head_dim]: q and k
// each RMS-normed per head by q_norm / k_norm [head_dim] when those are defined (Qwen3), then rotated by
// apply_rope's "rotate half" with cos/sin [tokens, 1, head_dim]; k and v are stored into the layer's pools
// [blocks, kv_heads, block_size, head_dim] (any strides) at block blocks[t], offset offsets[t] (int64
// [tokens]); uint8 pools [blocks, kv_heads, block_size, kv_q8_row_bytes(head_dim)] get q8_0 rows of the
// values rounded to the dtype. Returns q [tokens, heads, head_dim].
at::Tensor fused_qk_rope_store(const at::Tensor& qkv, const QkvLayout& layout, const at::Tensor& q_norm,
                               const at::Tensor& k_norm, double eps, const at::Tensor& cos,
                               const at::Tensor& sin, const at::Tensor& key_pool,
                               const at::Tensor& value_pool, const at::Tensor& blocks,
                               const at::Tensor& offsets);

// gate_up [tokens, 2 * n] -> silu(gate_up[:, :n]) * gate_up[:, n:] [tokens, n].
at::Tensor fused_silu_mul(const at::Tensor& gate_up);

}  // namespace torchllm
