#pragma once

// The per-ISA bodies of bf16_gemv, each in its own file compiled for its instruction set. They see raw
// pointers only: a file built with -mavx512f must not instantiate a template (ATen's, the standard library's)
// that the linker could then pick for the whole program and run on a CPU without AVX-512.

#include <cstdint>

namespace torchllm::kernels {

// bfloat16 values travel as their bits.
struct Bf16GemvArgs {
  const uint16_t* x = nullptr;        // [rows, in] bfloat16
  const float* x_pairs = nullptr;     // [rows, padded_in] x as float32 in the pair layout below, zero padded
  const uint16_t* x_tiles = nullptr;  // x in AMX tile order (below), for bf16_gemm_amx
  const uint16_t* weight = nullptr;   // [out, in] bfloat16
  const uint16_t* bias = nullptr;     // [out] bfloat16, or null
  uint16_t* y = nullptr;              // [rows, out] bfloat16
  int64_t rows = 0;
  int64_t in = 0;
  int64_t padded_in = 0;  // in rounded up to kBf16PairChunk
  int64_t out = 0;
};

// x_pairs holds each chunk of 32 inputs as its 16 even-indexed elements, then its 16 odd ones. A bfloat16
// pair loaded as one 32-bit lane widens to float32 with one shift (the even element, the low half) and one
// mask (the odd element, the high half), so the weight needs no shuffles when the activation comes in this
// order.
constexpr int64_t kBf16PairChunk = 32;

// x_tiles holds x in chunks of 16 rows (the last may have fewer, n), each as if it had 16: chunk c starts at
// element c * 16 * in and holds, for each step s of 32 inputs, the activation tile of tdpbf16ps: 16 pair rows
// of n pairs, x[16c + t][32s + 2p + e] at s * 32n + p * 2n + 2t + e. bf16_gemm_amx needs `in` a multiple of
// 64 and out_begin, out_end multiples of 16.
void bf16_gemm_amx(const Bf16GemvArgs& args, int64_t out_begin, int64_t out_end);

// Computes y[:, out_begin:out_end] (see bf16_gemv.h). The AVX2 and AVX-512 kernels read x_pairs, the
// AVX512_BF16 and scalar ones x.
using Bf16GemvFn = void (*)(const Bf16GemvArgs& args, int64_t out_begin, int64_t out_end);
void bf16_gemv_scalar(const Bf16GemvArgs& args, int64_t out_begin, int64_t out_end);
void bf16_gemv_avx2(const Bf16GemvArgs& args, int64_t out_begin, int64_t out_end);
void bf16_gemv_avx512(const Bf16GemvArgs& args, int64_t out_begin, int64_t out_end);
void bf16_gemv_avx512bf16(const Bf16GemvArgs& args, int64_t out_begin, int64_t out_end);

}  // namespace torchllm::kernels
