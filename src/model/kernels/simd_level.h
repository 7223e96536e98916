#pragma once

namespace torchllm {

// The vector instruction sets the CPU kernels are built for, lowest first.
enum class SimdLevel { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

// The highest level this CPU and OS allow (AVX2 needs AVX2+FMA+F16C; AVX-512 needs F, BW, VL, DQ and VNNI,
// with the OS saving the ZMM state), capped by the TORCHLLM_SIMD environment variable (scalar, avx2,
// avx512, amx: the same as avx512 here, and AMX allowed: amx_support.h) so that tests and benchmarks can
// force a lower one. Detected once.
SimdLevel cpu_simd_level();

// Whether TORCHLLM_SIMD leaves AMX on: unset, empty or "amx" (any named cap below it turns AMX off).
bool simd_cap_allows_amx();

// "scalar", "avx2", "avx512".
const char* simd_level_name(SimdLevel level);

}  // namespace torchllm
