#pragma once

// Intel AMX (Advanced Matrix Extensions): eight tile registers of up to 16 rows x 64 bytes and one
// instruction that multiplies two tiles into a third (16x16 float32 sums of 32 bf16 products each, or int32
// sums of 64 int8 products). Linux hands a process the 8 KiB of tile state only on request (arch_prctl), and
// some VMs advertise AMX in CPUID without enabling it, so its use is decided once here, by trying it.

namespace torchllm {

// Whether the AMX kernels may run: the CPU reports AMX-TILE, AMX-BF16 and AMX-INT8 with AVX-512 (the
// kernels' other half), the OS granted this process the tile state, a tile configuration loaded and released
// in a child process without a fault, and TORCHLLM_SIMD is unset or "amx" (any lower cap turns AMX off).
// Decided on the first call.
bool amx_available();

}  // namespace torchllm
