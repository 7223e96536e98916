#pragma once

// Decode attention on the CPU straight from the paged KV pool (kernels/paged_attention.h): one query token
// per row, each row's keys read block by block through its block table instead of being gathered into a
// contiguous copy first.

#include <ATen/Tensor.h>

#include <cstdint>

namespace torchllm {

// The largest head_dim the kernel takes (a multiple of 8 up to this).
constexpr int64_t kPagedDecodeMaxHeadDim = 512;

// Whether paged_decode_attention takes q: on the CPU, float32, bfloat16 or float16, [rows, q_heads,
// head_dim] with head_dim a multiple of 8 up to kPagedDecodeMaxHeadDim.
bool paged_decode_attention_applies(const at::Tensor& q);

// q [rows, q_heads, head_dim]; key_pool, value_pool [num_blocks, kv_heads, block_size, head_dim] contiguous,
// q's dtype, or uint8 [num_blocks, kv_heads, block_size, kv_q8_row_bytes(head_dim)] holding q8_0 rows
// (kernels/kv_q8_0.h; head_dim a multiple of 32), read as float32 whatever q's dtype
// (q_heads a multiple of kv_heads; query head h reads KV head h / (q_heads / kv_heads));
// block_tables [rows, max_blocks] int64 (any strides); lengths [rows] int64. Row r attends to its positions
// [max(0, lengths[r] - window), lengths[r]) (window 0: from 0), position p in block block_tables[r][p /
// block_size] at offset p % block_size, with scale 1 / sqrt(head_dim). Scores, softmax and sums are
// float32; the result, [rows, q_heads, head_dim] in q's dtype, is rounded once. A row of length 0 gives
// zeros. Runs the best kernel for cpu_simd_level(), rows x KV heads split over the ATen threads.
at::Tensor paged_decode_attention(const at::Tensor& q, const at::Tensor& key_pool,
                                  const at::Tensor& value_pool, const at::Tensor& block_tables,
                                  const at::Tensor& lengths, int64_t window);

}  // namespace torchllm
