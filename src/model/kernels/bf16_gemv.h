#pragma once

// Matrix-vector products of bfloat16 weights for CPU decode. A decode step multiplies a handful of activation
// rows by every weight matrix once, so it is bound by how fast the weight streams from memory;
// libtorch 1.13's bf16 GEMM streams it well below memory bandwidth. This kernel reads each weight row once
// for all activation rows, splits the output rows over the math threads, and picks AVX-512 (with
// AVX512_BF16's dot products where the CPU has them), AVX2 or scalar code at run time.

#include <ATen/ATen.h>

namespace torchllm {

// The code paths, lowest first.
enum class Bf16GemvIsa { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kAvx512Bf16 = 3, kAmxBf16 = 4 };

// The best path this CPU allows, capped by TORCHLLM_SIMD (scalar, avx2, avx512, amx; avx512 includes the BF16
// dot products when the CPU has them, amx also the AMX tiles). Detected once.
Bf16GemvIsa bf16_gemv_best_isa();
// "scalar", "avx2", "avx512", "avx512bf16", "amx" (AMX tiles for whole blocks of 16 weight rows when the
// input width is a multiple of 64, AVX512_BF16 for the rest; amx_support.h).
const char* bf16_gemv_isa_name(Bf16GemvIsa isa);

// The most activation rows for which bf16_gemv is known to beat at::linear on `isa` (2 threads on a shared
// 2-core AVX-512 machine, against libtorch 1.13's bf16 GEMM): 16 with AVX512_BF16 (8 rows: 28-56 GB/s against
// 17-25; Qwen3-0.6B decode at batch 16 after a 64-token prompt, 232 tok/s against 157 with the GEMM; 32 rows
// were no better than the GEMM), 4 with AVX-512 or AVX2, which
// widen each weight and are compute bound past that (8 rows: 16-26 GB/s, no better than the GEMM), and 0 for
// scalar code. The kernel itself takes any count, in groups of up to 8 rows sharing each weight row.
int64_t bf16_gemv_max_rows(Bf16GemvIsa isa);
// The largest bf16_gemv_max_rows of any path.
constexpr int64_t kBf16GemvMaxRows = 16;

// Whether to compute x [rows, in] @ weight [out, in]^T with bf16_gemv rather than at::linear: both on the
// CPU, bfloat16, 2-D, contiguous, and 1 <= rows <= bf16_gemv_max_rows(bf16_gemv_best_isa()). Any `in` and
// `out` (tails are handled).
bool bf16_gemv_applies(const at::Tensor& x, const at::Tensor& weight);

// x [rows, in] @ weight [out, in]^T + bias [out] (bfloat16 or undefined) -> [rows, out] bfloat16. Products
// are summed in float32 and the bias added in float32 before the one rounding to bfloat16, as at::linear does
// on this libtorch (both match the exactly rounded result in all but ~0.02% of outputs); the summation order
// differs, so the two differ by one bf16 ulp in about that many outputs.
at::Tensor bf16_gemv(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);
// The same on a given path (tests and benchmarks); it must be at most bf16_gemv_best_isa().
at::Tensor bf16_gemv(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, Bf16GemvIsa isa);

}  // namespace torchllm
