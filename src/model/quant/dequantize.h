#pragma once

// Dequantization of ggml tensor blocks to float32, bit for bit as llama.cpp's reference dequantizers
// (ggml-quants.c dequantize_row_*, ggml.c's fp16/bf16 conversions): same integer unpacking, same float
// operations in the same order (this file is compiled with -ffp-contract=off so that no FMA changes a
// rounding).

#include <cstdint>
#include <string>

namespace torchllm {

// ggml's type ids (ggml.h enum ggml_type) of the types torchllm reads.
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,  // activation format of the block dot products only
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,  // activation format of the block dot products only
  kBF16 = 30,
};

bool can_dequantize(uint32_t ggml_type);
// "F32, F16, BF16, Q8_0, ..." for error messages.
std::string dequantizable_types();

// Elements per block and bytes per block of a type `can_dequantize` accepts.
int64_t dequant_block_elements(uint32_t ggml_type);
int64_t dequant_block_bytes(uint32_t ggml_type);

// ggml's get_scale_min_k4: the 6-bit scale `d` and min `m` of sub-block j (0..7) from a Q4_K/Q5_K block's 12
// packed scale bytes `q`.
void scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m);

// Converts `n` elements (a multiple of the block size) stored at `src` as `ggml_type` into `dst`.
// Throws Error(kUnsupported) for a type it cannot read and Error(kInvalidArgument) for a partial block.
void dequantize(uint32_t ggml_type, const uint8_t* src, float* dst, int64_t n);

}  // namespace torchllm
