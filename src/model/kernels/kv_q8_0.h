#pragma once

// The row format of the q8_0 K/V cache (--cache-type q8_0): one position's head_dim keys (or values) of one
// KV head, quantized in blocks of 32 as ggml's q8_0 (d = max|x| / 127, q = round(x / d), x read back as
// q * d), but laid out for the attention kernels: the head_dim int8 values first, then the blocks' d as
// float32 (ggml keeps each d as fp16 in front of its 32 values). A row's values are contiguous, so a kernel
// loads 8 or 16 of them without crossing a scale, and q * d in float32 is the value every reader sees.
//
// Byte layout of a row (head_dim a multiple of 32):
//   [0, head_dim)                        int8 q[i]
//   [head_dim, head_dim + head_dim / 8)  float32 d[b] of block b (elements [32 b, 32 b + 32)), unaligned

#include <cstdint>

namespace torchllm {

constexpr int64_t kKvQ8Block = 32;

// Bytes of one row of head_dim elements.
constexpr int64_t kv_q8_row_bytes(int64_t head_dim) { return head_dim + head_dim / kKvQ8Block * 4; }

// The head_dim of a row of row_bytes bytes (the inverse of kv_q8_row_bytes).
constexpr int64_t kv_q8_head_dim(int64_t row_bytes) { return row_bytes * kKvQ8Block / (kKvQ8Block + 4); }

// Whether a head of head_dim elements can be stored as q8_0 rows.
constexpr bool kv_q8_fits(int64_t head_dim) { return head_dim > 0 && head_dim % kKvQ8Block == 0; }

// x [head_dim] -> one row (kv_q8_row_bytes(head_dim) bytes). As ggml's quantize_row_q8_0_ref: per block
// d = max|x| / 127, q = roundf(x * (1 / d)) (0 for an all-zero block), but d kept in float32.
void quantize_kv_row_q8(const float* x, int64_t head_dim, uint8_t* row);

// One row -> out [head_dim] float32: q[i] * d[i / 32].
void dequantize_kv_row_q8(const uint8_t* row, int64_t head_dim, float* out);

}  // namespace torchllm
