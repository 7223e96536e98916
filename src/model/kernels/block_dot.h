#pragma once

// Dot products of ggml block-quantized weight rows with an activation row quantized once per input, as
// llama.cpp's CPU backend computes them (ggml-cpu vec_dot_*): the activation goes to Q8_0, Q8_1 or Q8_K,
// each block's products are summed in integers, and only the per-block scales are float.
//
// Every SIMD level returns exactly the scalar reference's float (the tests check bit equality): a block's
// integer sum is exact whatever the instruction order, and the blocks' float terms are combined in one fixed
// order, LaneSum's.

#include <cstdint>

#include "model/kernels/simd_level.h"
#include "model/quant/dequantize.h"

namespace torchllm {

// Weight types with a block dot product: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K.
bool has_block_dot(GgmlType weight);
// The activation format a weight type's dot reads (llama.cpp's vec_dot_type): Q8_0 for Q8_0, Q4_0 and Q5_0;
// Q8_1 for Q4_1 and Q5_1; Q8_K for the K types.
GgmlType activation_type(GgmlType weight);
// Elements per block of a weight or activation format: 32, or 256 for the K types and Q8_K.
int64_t block_elements(GgmlType type);
// Bytes of `n` elements (a multiple of the block size) of a weight or activation format.
int64_t quantized_row_bytes(GgmlType type, int64_t n);

// Quantizes n floats (a multiple of the block size) into an activation format, as llama.cpp's
// quantize_row_q8_0_ref / q8_1_ref / q8_K_ref.
void quantize_activation(GgmlType activation, const float* x, uint8_t* dst, int64_t n);

// Dot product of n elements of a weight row and of an activation row in activation_type(weight).
using BlockDotFn = float (*)(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n);
// The kernel for `weight` at `level`, or the best one below it that exists.
BlockDotFn block_dot_function(GgmlType weight, SimdLevel level);

// Dot products of one weight row with `tokens` activation rows `activation_stride` bytes apart: out[t] is
// bit for bit what block_dot_function(weight, level) returns for row t. The AVX-512 kernels and the
// AVX2 K kernels unpack each weight block once for several tokens; the others loop over the single-token
// kernel.
using BlockDotManyFn = void (*)(const uint8_t* weight_row, const uint8_t* activation_rows,
                                int64_t activation_stride, int64_t tokens, int64_t n, float* out);
BlockDotManyFn block_dot_many_function(GgmlType weight, SimdLevel level);

// Dot products of `rows` weight rows `weight_stride` bytes apart with one activation row: out[r] is bit for
// bit what block_dot_function(weight, level) returns for row r. Only the AVX-512 K kernels have one (they
// reduce four rows' blocks together); nullptr for the other types and levels, which call the single kernel.
using BlockDotRowsFn = void (*)(const uint8_t* weight_rows, int64_t weight_stride,
                                const uint8_t* activation_row, int64_t rows, int64_t n, float* out);
BlockDotRowsFn block_dot_rows_function(GgmlType weight, SimdLevel level);

// Internal linkage for the reason fp16.h gives (the kernel files are compiled for wider instruction sets).
namespace {

// The fixed order in which a row's per-block float terms are added: block b's term goes to lane b % 8, and
// the lanes are added pairwise at the end. A SIMD kernel keeps the lanes in an 8-float register and reduces
// it the same way; the scalar reference uses this struct.
struct LaneSum {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  void add(int64_t block, float term) { lane[block & 7] += term; }
  float total() const {
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
  }
};

}  // namespace

}  // namespace torchllm
