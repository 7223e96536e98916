#pragma once

// Matrix-vector products of bfloat16 weights for CPU decode. A decode step multiplies a handful of activation
// rows by every weight matrix once, so it is bound by how fast the weight streams from memory;
// libtorch 1.13's bf16 GEMM streams it well below memory bandwidth. This kernel reads each weight row once
// for all activation rows, splits the output rows over the math threads, and picks AVX-512 (with
// AVX512_BF16's dot products where the CPU has them), AVX2 or scalar code at run time.

#include <ATen/ATen.h>

namespace torchllm {

// The most activation rows bf16_gemv_applies accepts. The kernel handles any count (in groups of 8 sharing
// each weight block while it is in cache), but past a few groups a GEMM's blocking wins.
constexpr int64_t kBf16GemvMaxRows = 8;

// The code paths, lowest first.
enum class Bf16GemvIsa { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kAvx512Bf16 = 3 };

// The best path this CPU allows, capped by TORCHLLM_SIMD (scalar, avx2, avx512; avx512 includes the BF16 dot
// products when the CPU has them). Detected once.
Bf16GemvIsa bf16_gemv_best_isa();
// "scalar", "avx2", "avx512", "avx512bf16".
const char* bf16_gemv_isa_name(Bf16GemvIsa isa);

// Whether bf16_gemv takes x [rows, in] @ weight [out, in]^T: both on the CPU, bfloat16, contiguous, and
// 1 <= rows <= kBf16GemvMaxRows. Any `in` and `out` (tails are handled).
bool bf16_gemv_applies(const at::Tensor& x, const at::Tensor& weight);

// x [rows, in] @ weight [out, in]^T + bias [out] (bfloat16 or undefined) -> [rows, out] bfloat16. Products
// are summed in float32 and the bias added in float32 before the one rounding to bfloat16, so each output is
// within float32 summation error of the exact result, rounded once (at::linear rounds the same way on this
// libtorch; the summation order differs, so the results may differ by one bf16 ulp).
at::Tensor bf16_gemv(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);
// The same on a given path (tests and benchmarks); it must be at most bf16_gemv_best_isa().
at::Tensor bf16_gemv(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, Bf16GemvIsa isa);

}  // namespace torchllm
