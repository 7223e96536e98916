#pragma once

// K/V rows to and from the q8_0 cache's byte rows (model/kernels/kv_q8_0.h) as tensors, for the paths that
// neither the fused CPU store nor the paged decode kernel covers: the libtorch K/V store, prefill attention
// over keys already cached, and the gathered decode path (TORCHLLM_DECODE_ATTENTION=sdpa).

#include <ATen/Tensor.h>

namespace torchllm {

// Whether a cache pool (or rows gathered from one) holds q8_0 rows: uint8.
bool holds_q8_rows(const at::Tensor& pool);

// rows [..., head_dim] (float32, bf16 or fp16 on the CPU; head_dim a multiple of 32) -> [..., row bytes]
// uint8, each row as quantize_kv_row_q8 makes it.
at::Tensor quantize_kv_rows(const at::Tensor& rows);

// rows [..., row bytes] uint8 (any strides) -> [..., head_dim] of dtype, each value q * d rounded once to
// dtype.
at::Tensor dequantize_kv_rows(const at::Tensor& rows, at::ScalarType dtype);

// Keys or values read from a pool as elements of dtype: q8_0 rows dequantized, anything else as it is.
at::Tensor readable_kv(const at::Tensor& rows, at::ScalarType dtype);

}  // namespace torchllm
