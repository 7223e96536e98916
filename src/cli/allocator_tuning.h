#pragma once

namespace torchllm::cli {

// Keeps the memory of large freed tensors in the process (glibc's malloc), instead of handing it back to
// the kernel and faulting fresh zeroed pages in at the next forward pass. A 512-token prefill of Qwen3-0.6B
// allocates and frees tens of MB per layer: with glibc's defaults (such blocks are mmap'ed and unmapped each
// time) page faults were a third of its CPU time, and prefill ran at half the speed. Call once, first thing
// in main; does nothing with another C library.
void keep_freed_memory_for_reuse();

}  // namespace torchllm::cli
