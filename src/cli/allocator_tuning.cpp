#include "cli/allocator_tuning.h"

#include <cstddef>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace torchllm::cli {

void keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  // Blocks up to the mmap threshold come from the heap and are reused after free. Debian 12's glibc takes
  // 1 GiB; older releases refuse thresholds above half their largest heap (32 MiB with 64-bit defaults),
  // so smaller ones are tried after it.
  constexpr std::size_t kMiB = std::size_t{1} << 20;
  for (const std::size_t threshold : {1024 * kMiB, 256 * kMiB, 32 * kMiB}) {
    if (mallopt(M_MMAP_THRESHOLD, static_cast<int>(threshold)) == 1) break;
  }
  // The heap's free top is never trimmed back: the next step wants it again.
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(2047 * kMiB));
#endif
}

}  // namespace torchllm::cli
