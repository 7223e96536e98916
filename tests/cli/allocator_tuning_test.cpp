// keep_freed_memory_for_reuse: a large block freed and allocated again comes back without page faults (with
// glibc's defaults it is unmapped at free and every page faults in again).
#include "cli/allocator_tuning.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "model/allocation.h"

namespace {

long resident_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

long minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// Allocates `bytes`, writes one byte per 4 KiB page, frees it.
void touch_block(std::size_t bytes) {
  auto* block = static_cast<volatile char*>(std::malloc(bytes));
  ASSERT_NE(block, nullptr);
  for (std::size_t i = 0; i < bytes; i += 4096) block[i] = 1;
  std::free(const_cast<char*>(block));
}

TEST(AllocatorTuning, AFreedLargeBlockIsReusedWithoutPageFaults) {
#if !defined(__GLIBC__)
  GTEST_SKIP() << "tunes glibc's malloc only";
#endif
  torchllm::cli::keep_freed_memory_for_reuse();
  const std::size_t bytes = std::size_t{48} << 20;  // above glibc's largest default mmap threshold (32 MiB)
  touch_block(bytes);
  const long before = minor_faults();
  touch_block(bytes);
  // 12288 pages of 4 KiB fault in again without the tuning (fewer with transparent huge pages, still >= 24).
  EXPECT_LT(minor_faults() - before, 8);
}

// What the tuning keeps, a model load hands back (return_freed_memory_to_system, after loading).
TEST(AllocatorTuning, FreedMemoryGoesBackAfterALoad) {
#if !defined(__GLIBC__)
  GTEST_SKIP() << "tunes glibc's malloc only";
#endif
  torchllm::cli::keep_freed_memory_for_reuse();
  const std::size_t bytes = std::size_t{48} << 20;
  touch_block(bytes);
  const long kept = resident_kib();
  torchllm::return_freed_memory_to_system();
  EXPECT_GT(kept - resident_kib(), 40 * 1024) << "KiB resident before: " << kept;
}

}  // namespace
