#pragma once

// The natural logarithm on GCC vector types, for the CPU sampling kernels that draw noise and race on it:
// compiled inside each kernel's target clones, so it vectorizes for the instruction set the clone targets.

#include <cstdint>

namespace torchllm::vector_log {

constexpr int64_t kLanes = 8;
typedef double Doubles __attribute__((vector_size(kLanes * sizeof(double))));
typedef int64_t Longs __attribute__((vector_size(kLanes * sizeof(int64_t))));
typedef uint64_t ULongs __attribute__((vector_size(kLanes * sizeof(uint64_t))));
typedef float Floats __attribute__((vector_size(kLanes * sizeof(float))));
// A cast between these vector types of one size keeps the bits (GCC vector extensions).

// ln x for positive normal finite x: x = f 2^k with f in [sqrt(1/2), sqrt(2)), ln x = k ln 2 + 2 atanh(s),
// s = (f - 1) / (f + 1), |s| <= 0.1716: seven terms of the series are within 3e-12 of it (float32 keeps
// 6e-8). Near x = 1, f - 1 = x - 1 exactly, so the error stays relative there.
inline void ln_positive(const Doubles& x, Doubles& out) {
  const Longs exponent_one = Longs{} + 0x3FF0000000000000;
  const Longs mantissa = Longs{} + 0x000FFFFFFFFFFFFF;
  const Longs bits = (Longs)(x);
  Longs k = ((bits >> 52) & 0x7FF) - 1023;
  Doubles f = (Doubles)((bits & mantissa) | exponent_one);  // [1, 2)
  const Longs high = f > 1.4142135623730951;                // -1 where true
  f = high ? f * 0.5 : f;
  k -= high;
  // k in [-1022, 1023] as a double without a 64-bit integer conversion (AVX2 has none): 2^52 + 1024 + k.
  const Doubles kd = (Doubles)((k + 1024) | 0x4330000000000000) - 4503599627371520.0;
  const Doubles s = (f - 1.0) / (f + 1.0), s2 = s * s;
  Doubles series = Doubles{} + 1.0 / 13;
  for (int term = 11; term >= 1; term -= 2) series = series * s2 + 1.0 / term;
  out = kd * 0.6931471805599453 + 2.0 * s * series;
}

}  // namespace torchllm::vector_log
