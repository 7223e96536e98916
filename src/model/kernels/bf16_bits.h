#pragma once

// bfloat16 as raw bits, branch-free so that loops over them vectorize. Internal linkage (an unnamed
// namespace): the kernel files that include it are compiled for wider instruction sets, and each must keep
// its own copy (see bf16_gemv_kernels.h).

#include <cstdint>
#include <cstring>

namespace torchllm {
namespace {

inline float bf16_bits_to_float(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof(value));
  return value;
}

// Round to nearest even, as c10::BFloat16's constructor; a NaN becomes the quiet NaN 0x7FC0 as there.
inline uint16_t float_to_bf16_bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  const uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
  return (bits & 0x7fffffffu) > 0x7f800000u ? static_cast<uint16_t>(0x7FC0) : static_cast<uint16_t>(rounded);
}

inline float round_bf16(float value) { return bf16_bits_to_float(float_to_bf16_bits(value)); }

}  // namespace
}  // namespace torchllm
