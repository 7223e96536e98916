#include "model/kernels/simd_level.h"

#include <cstdlib>
#include <string>

#include "torchllm/error.h"

namespace torchllm {
namespace {

SimdLevel hardware_level() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  // libgcc's flags already require the OS to save the YMM/ZMM state (XCR0) before it reports AVX2/AVX-512.
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512vnni");
  const bool avx2 =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  if (avx2 && avx512) return SimdLevel::kAvx512;
  if (avx2) return SimdLevel::kAvx2;
#endif
  return SimdLevel::kScalar;
}

SimdLevel detect() {
  SimdLevel level = hardware_level();
  if (const char* cap = std::getenv("TORCHLLM_SIMD")) {
    const std::string name = cap;
    SimdLevel wanted = level;
    if (name == "scalar") {
      wanted = SimdLevel::kScalar;
    } else if (name == "avx2") {
      wanted = SimdLevel::kAvx2;
    } else if (name == "avx512" || name == "amx") {  // amx: AVX-512 and, where usable, AMX (amx_support.h)
      wanted = SimdLevel::kAvx512;
    } else if (!name.empty()) {
      throw Error::invalid_argument("TORCHLLM_SIMD=" + name + ": expected scalar, avx2, avx512 or amx");
    }
    if (wanted < level) level = wanted;
  }
  return level;
}

}  // namespace

SimdLevel cpu_simd_level() {
  static const SimdLevel level = detect();
  return level;
}

bool simd_cap_allows_amx() {
  const char* cap = std::getenv("TORCHLLM_SIMD");
  return cap == nullptr || *cap == '\0' || std::string(cap) == "amx";
}

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::kScalar:
      return "scalar";
    case SimdLevel::kAvx2:
      return "avx2";
    case SimdLevel::kAvx512:
      return "avx512";
  }
  return "scalar";
}

}  // namespace torchllm
