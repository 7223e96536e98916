#pragma once

// Software prefetch of the weight bytes a one-row kernel reads a little later. The hardware prefetcher alone
// leaves these kernels waiting on DRAM: a core here streams ~13 GB/s only with many lines in flight, and the
// AVX2 kernels' compute did not overlap the reads (Qwen3-0.6B Q4_K_M decode, 2 threads, TORCHLLM_SIMD=avx2:
// 36 tok/s without, 48 at 1 KB ahead, 71 at 4 KB, no better at 8-16 KB). Included by kernel files compiled
// for different instruction sets: internal linkage (see block_dot.h).

#include <xmmintrin.h>

#include <cstddef>

namespace torchllm::kernels {
namespace {

constexpr size_t kWeightPrefetchBytes = 4096;

// The lines of [p, p + kBytes) kWeightPrefetchBytes on, into every cache level. Consecutive calls over
// contiguous blocks cover every line; past the end of the weights a prefetch reads nothing and never faults.
template <size_t kBytes>
inline void prefetch_weights_ahead(const void* p) {
  const char* ahead = static_cast<const char*>(p) + kWeightPrefetchBytes;
  for (size_t offset = 0; offset < kBytes; offset += 64) _mm_prefetch(ahead + offset, _MM_HINT_T0);
}

}  // namespace
}  // namespace torchllm::kernels
