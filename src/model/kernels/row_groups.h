#pragma once

// K-quant (Q4_K, Q5_K, Q6_K), Q8_0 and Q4_0 weights repacked at load into groups of 16 rows, for AVX-512 VNNI
// dot products that keep the 16 rows in the 16 int32 lanes of a vector: one dpbusd multiplies four
// consecutive weights of each of the 16 rows by the same four activation bytes of one token (a 32-bit
// broadcast). There are no horizontal sums, a weight vector unpacked once serves every token of the call, and
// the memory read is the weights once.
//
// A group's super-blocks (pairs of blocks for Q8_0 and Q4_0) follow each other: group g of a matrix of n
// columns starts at g * row_group_bytes(type, n), and holds rows 16g..16g+15. Every byte of the 16 ggml
// blocks is kept (a group is as large as its 16 rows, except Q4_K's scales and mins, which are unpacked from
// 6 bits to bytes: 2368 bytes for 2304 (Q5_K: 2880 for 2816), and Q6_K's 32 bytes of padding: 3392 for 3360;
// Q8_0's quants have their sign bits flipped), so unpack_row_x16 gives a row's ggml blocks back exactly.
//
// The integer sums of a kernel are exact and its float terms are formed and added as the scalar reference
// does (LaneSum's order, block_dot.h), so out[t][r] is bit for bit block_dot_function(type, kScalar) of row r
// and token t.

#include <cstdint>

#include "model/kernels/block_layouts.h"
#include "model/kernels/simd_level.h"
#include "model/quant/dequantize.h"

namespace torchllm {

constexpr int64_t kGroupRows = 16;

#pragma pack(push, 1)
// One super-block of 16 Q4_K rows.
struct BlockQ4_Kx16 {
  uint16_t d[kGroupRows];         // row r's fp16 d
  uint16_t dmin[kGroupRows];      // row r's fp16 dmin
  uint8_t scales[8][kGroupRows];  // 32-element sub-block j's 6-bit scale of row r
  uint8_t mins[8][kGroupRows];    // sub-block j's 6-bit min of row r
  // Chunk c (elements 64c..64c+63), group i: bytes 4r..4r+3 are row r's ggml qs[32c + 4i .. 32c + 4i + 3],
  // whose low nibbles are elements 64c + 4i + k (sub-block 2c) and high nibbles 64c + 32 + 4i + k (2c + 1).
  uint8_t qs[4][8][4 * kGroupRows];
};
// One super-block of 16 Q5_K rows: Q4_K's fields, their quants' low four bits, then the fifth bits. qh[i]:
// bytes 4r..4r+3 are row r's ggml qh[4i..4i+3], whose bit 2c is the fifth bit of element 64c + 4i + k and bit
// 2c + 1 that of element 64c + 32 + 4i + k (k = 0..3).
struct BlockQ5_Kx16 {
  uint16_t d[kGroupRows];
  uint16_t dmin[kGroupRows];
  uint8_t scales[8][kGroupRows];
  uint8_t mins[8][kGroupRows];
  uint8_t qs[4][8][4 * kGroupRows];
  uint8_t qh[8][4 * kGroupRows];
};
// One super-block of 16 Q6_K rows. Half h (elements 128h..128h+127), group i (l = 4i..4i+3): bytes
// 4r..4r+3 of ql_a, ql_b and qh are row r's ggml ql[64h + l], ql[64h + 32 + l] and qh[32h + l]; so the four
// elements 128h + l + 32m (m = 0..3) of each row are, as in ggml:
//   m = 0: ql_a & 15 | (qh & 3) << 4        m = 1: ql_b & 15 | (qh >> 2 & 3) << 4
//   m = 2: ql_a >> 4 | (qh >> 4 & 3) << 4   m = 3: ql_b >> 4 | (qh >> 6 & 3) << 4
// minus 32, with the scale of 16-element sub-block 8h + 2m + i / 4.
struct BlockQ6_Kx16 {
  uint8_t ql_a[2][8][4 * kGroupRows];
  uint8_t ql_b[2][8][4 * kGroupRows];
  uint8_t qh[2][8][4 * kGroupRows];
  int8_t scales[16][kGroupRows];  // 16-element sub-block j's scale of row r
  uint16_t d[kGroupRows];         // row r's fp16 d
  uint8_t pad[32];                // zero: 53 whole cache lines, so no vector load straddles two
};
#pragma pack(pop)
// Two consecutive blocks (64 elements) of 16 Q8_0 rows: 17 whole cache lines. Block k of the pair, group i:
// bytes 4r..4r+3 of qs[k][i] are row r's ggml qs[4i..4i+3] with the sign bit flipped (q + 128: dpbusd's
// weight operand is unsigned, and the kernel takes 128 * the activation block's sum back off).
struct BlockQ8_0x16 {
  uint8_t qs[2][8][4 * kGroupRows];
  uint16_t d[2][kGroupRows];  // row r's fp16 d of block k
};
// Two consecutive blocks (64 elements) of 16 Q4_0 rows: 9 whole cache lines. Block k, group i: bytes
// 4r..4r+3 of qs[k][i] are row r's ggml qs[4i..4i+3], whose low nibbles are elements 4i + j and high nibbles
// 16 + 4i + j (the kernel takes 8 * the activation block's sum off for the quants' -8).
struct BlockQ4_0x16 {
  uint8_t qs[2][4][4 * kGroupRows];
  uint16_t d[2][kGroupRows];  // row r's fp16 d of block k
};
static_assert(sizeof(BlockQ4_Kx16) == 64 + 256 + 2048);
static_assert(sizeof(BlockQ5_Kx16) == 45 * 64);
static_assert(sizeof(BlockQ4_0x16) == 9 * 64);
static_assert(sizeof(BlockQ8_0x16) == 17 * 64);
static_assert(sizeof(BlockQ6_Kx16) == 16 * sizeof(BlockQ6_K) + 32);

// Whether rows of n columns of `type` have a row-group layout and kernel at `level` (Q4_K, Q5_K, Q6_K, and
// Q8_0 and Q4_0 where n is a multiple of 64, with AVX-512 VNNI).
bool has_row_groups(GgmlType type, SimdLevel level, int64_t n);
// Bytes of one row group of n columns (a multiple of 256, or of 64 for Q8_0 and Q4_0).
int64_t row_group_bytes(GgmlType type, int64_t n);

// 16 ggml rows of n columns, `row_bytes` apart, into one row group at `group`.
void repack_x16(GgmlType type, const uint8_t* rows, int64_t row_bytes, int64_t n, uint8_t* group);
// Row r (0..15) of a row group back as its ggml blocks (quantized_row_bytes(type, n) bytes at `row`).
void unpack_row_x16(GgmlType type, const uint8_t* group, int64_t r, int64_t n, uint8_t* row);

// `group_count` consecutive row groups of n columns against `tokens` (>= 1) activation rows (Q8_K, or Q8_0
// for Q8_0 weights) of n elements, `activation_stride` bytes apart: out[t * out_stride + 16 * g + r] is row
// 16g + r's dot product with token t.
using RowGroupDotFn = void (*)(const uint8_t* groups, int64_t group_count, const uint8_t* activations,
                               int64_t activation_stride, int64_t tokens, int64_t n, float* out,
                               int64_t out_stride);
// The kernel for `type` at `level`; nullptr where has_row_groups is false.
RowGroupDotFn row_group_dot_function(GgmlType type, SimdLevel level);

// The reference: every row unpacked and through the scalar kernel.
void row_group_dot_scalar(GgmlType type, const uint8_t* groups, int64_t group_count,
                          const uint8_t* activations, int64_t activation_stride, int64_t tokens, int64_t n,
                          float* out, int64_t out_stride);

namespace kernels {
void repack_q4_k_x16(const uint8_t* rows, int64_t row_bytes, int64_t n, uint8_t* group);
void unpack_row_q4_k_x16(const uint8_t* group, int64_t r, int64_t n, uint8_t* row);
void repack_q5_k_x16(const uint8_t* rows, int64_t row_bytes, int64_t n, uint8_t* group);
void unpack_row_q5_k_x16(const uint8_t* group, int64_t r, int64_t n, uint8_t* row);
void repack_q6_k_x16(const uint8_t* rows, int64_t row_bytes, int64_t n, uint8_t* group);
void unpack_row_q6_k_x16(const uint8_t* group, int64_t r, int64_t n, uint8_t* row);
void repack_q8_0_x16(const uint8_t* rows, int64_t row_bytes, int64_t n, uint8_t* group);
void unpack_row_q8_0_x16(const uint8_t* group, int64_t r, int64_t n, uint8_t* row);
void repack_q4_0_x16(const uint8_t* rows, int64_t row_bytes, int64_t n, uint8_t* group);
void unpack_row_q4_0_x16(const uint8_t* group, int64_t r, int64_t n, uint8_t* row);
void row_group_dot_q4_k_avx512(const uint8_t* groups, int64_t group_count, const uint8_t* activations,
                               int64_t activation_stride, int64_t tokens, int64_t n, float* out,
                               int64_t out_stride);
void row_group_dot_q5_k_avx512(const uint8_t* groups, int64_t group_count, const uint8_t* activations,
                               int64_t activation_stride, int64_t tokens, int64_t n, float* out,
                               int64_t out_stride);
void row_group_dot_q6_k_avx512(const uint8_t* groups, int64_t group_count, const uint8_t* activations,
                               int64_t activation_stride, int64_t tokens, int64_t n, float* out,
                               int64_t out_stride);
void row_group_dot_q8_0_avx512(const uint8_t* groups, int64_t group_count, const uint8_t* activations,
                               int64_t activation_stride, int64_t tokens, int64_t n, float* out,
                               int64_t out_stride);
void row_group_dot_q4_0_avx512(const uint8_t* groups, int64_t group_count, const uint8_t* activations,
                               int64_t activation_stride, int64_t tokens, int64_t n, float* out,
                               int64_t out_stride);
}  // namespace kernels

}  // namespace torchllm
