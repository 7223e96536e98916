#pragma once

// Quantization of float32 rows into ggml blocks, byte for byte as llama.cpp's ggml_quantize_chunk without an
// importance matrix: that path calls ggml-quants.c quantize_row_*_ref for every block type (the K types'
// quantize_q*_K only take their _impl path when given an imatrix), and ggml.c's fp16/bf16 conversions for the
// float types. Same float operations in the same order; this file is compiled with -ffp-contract=off so that
// no FMA changes a rounding (the prebuilt ggml-base has none either).

#include <cstdint>
#include <string>

#include "model/quant/dequantize.h"

namespace torchllm {

bool can_quantize(GgmlType type);
// "F32, F16, BF16, Q8_0, ..." for error messages.
std::string quantizable_types();

// The type named like llama-quantize's and ggml's type names, case-insensitive ("q4_k", "Q8_0", "f16").
// Throws Error(kInvalidArgument) naming the accepted ones.
GgmlType quantize_type_from_name(const std::string& name);
// ggml's type name ("q4_K", "f16", ...) of a type `can_quantize` accepts.
const char* quantize_type_name(GgmlType type);

// Bytes that `n` elements (a multiple of the block size) take as `type`.
int64_t quantized_bytes(GgmlType type, int64_t n);

// Writes `n` elements (a multiple of the type's block size) of `src` as `type` at `dst`, which must hold
// quantized_bytes(type, n) bytes. Blocks are independent, so a tensor can be quantized whole or row by row.
// Throws Error(kUnsupported) for a type it cannot write, Error(kInvalidArgument) for a partial block, and for
// block types Error(kInvalidArgument) on a NaN or infinity (ggml would silently write garbage scales).
void quantize_row(GgmlType type, const float* src, uint8_t* dst, int64_t n);

}  // namespace torchllm
