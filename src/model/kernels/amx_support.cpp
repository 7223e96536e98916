// Compiled with -mamx-tile for the probe's two tile instructions; nothing else here uses them, and the
// compiler never emits AMX instructions on its own.
#include "model/kernels/amx_support.h"

#include <cerrno>
#include <cstring>

#include "model/kernels/simd_level.h"

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace torchllm {
namespace {

#if defined(__x86_64__) && defined(__linux__)
constexpr long kArchReqXcompPerm = 0x1023;  // arch_prctl: ask for an extended state component
constexpr long kXfeatureXtiledata = 18;     // the tile data (XCR0 bit 18; bit 17 is the configuration)

bool cpu_reports_amx() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const bool bf16 = edx >> 22 & 1, tile = edx >> 24 & 1, int8 = edx >> 25 & 1;
  return bf16 && tile && int8;
}

bool os_enables_tiles() {
  unsigned eax = 0, edx = 0;
  __asm__("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (eax >> 17 & 3) == 3;
}

// A tile configuration of palette 1 with one 1x4-byte tile, loaded and released.
void probe_tiles() {
  alignas(64) unsigned char config[64];
  std::memset(config, 0, sizeof config);
  config[0] = 1;   // palette
  config[16] = 4;  // tile 0: 4 bytes a row
  config[48] = 1;  // tile 0: 1 row
  _tile_loadconfig(config);
  _tile_release();
}

// The probe in a child, so that a VM that faults on tile instructions (SIGILL) costs nothing but the answer.
bool tiles_work_in_child() {
  const pid_t child = fork();
  if (child < 0) return false;
  if (child == 0) {
    probe_tiles();
    _exit(0);
  }
  int status = 0;
  pid_t waited;
  do {
    waited = waitpid(child, &status, 0);
  } while (waited < 0 && errno == EINTR);
  // Not reaped here (SIGCHLD ignored, ECHILD): no answer, so no AMX.
  return waited == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool detect() {
  if (!simd_cap_allows_amx() || cpu_simd_level() < SimdLevel::kAvx512 || !cpu_reports_amx() ||
      !os_enables_tiles())
    return false;
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) return false;
  return tiles_work_in_child();
}
#else
bool detect() { return false; }
#endif

}  // namespace

bool amx_available() {
  static const bool available = detect();
  return available;
}

}  // namespace torchllm
