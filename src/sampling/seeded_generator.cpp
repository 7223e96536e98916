#include "sampling/seeded_generator.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <mutex>

namespace torchllm {

at::Generator make_seeded_generator(c10::Device device, uint64_t seed) {
  if (device.is_cpu()) return at::detail::createCPUGenerator(seed);
  try {
    // Cloning the device's default generator is the one way to make a CUDA generator that compiles against a
    // CPU-only libtorch too; the clone is then reseeded, which also resets its Philox offset.
    at::Generator shared = at::globalContext().defaultGenerator(device);
    at::Generator own;
    {
      std::lock_guard<std::mutex> lock(shared.mutex());
      own = shared.clone();
    }
    own.set_current_seed(seed);
    return own;
  } catch (const c10::Error&) {
    return at::detail::createCPUGenerator(seed);
  }
}

namespace {

constexpr int64_t kLanes = 8;
typedef double Doubles __attribute__((vector_size(kLanes * sizeof(double))));
typedef int64_t Longs __attribute__((vector_size(kLanes * sizeof(int64_t))));
typedef uint64_t ULongs __attribute__((vector_size(kLanes * sizeof(uint64_t))));
typedef float Floats __attribute__((vector_size(kLanes * sizeof(float))));
// A cast between these vector types of one size keeps the bits (GCC vector extensions).

// -ln(y) for the uniform y = 2 - (1 + m 2^-52) in (0, 1], m the top 52 bits of each draw: Exp(1) draws (y =
// 1, probability 2^-52, gives 0). ln y = k ln 2 + 2 atanh(s), s = (f - 1) / (f + 1), y = f 2^k with f in
// [sqrt(1/2), sqrt(2)), |s| <= 0.1716: seven terms of the series are within 3e-12 of it (float32 keeps 6e-8),
// and near y = 1 (the small draws that decide rare tokens) the error stays relative, as f - 1 = y - 1
// exactly.
inline void minus_log_uniform(const Longs& draws, Doubles& out) {
  const Longs exponent_one = Longs{} + 0x3FF0000000000000;
  const Longs mantissa = Longs{} + 0x000FFFFFFFFFFFFF;
  const Doubles y = 2.0 - (Doubles)(exponent_one | ((draws >> 12) & mantissa));
  const Longs yb = (Longs)(y);
  Longs k = ((yb >> 52) & 0x7FF) - 1023;
  Doubles f = (Doubles)((yb & mantissa) | exponent_one);  // [1, 2)
  const Longs high = f > 1.4142135623730951;              // -1 where true
  f = high ? f * 0.5 : f;
  k -= high;
  // k in [-52, 0] as a double without a 64-bit integer conversion (AVX2 has none): 2^52 + 1024 + k.
  const Doubles kd = (Doubles)((k + 1024) | 0x4330000000000000) - 4503599627371520.0;
  const Doubles s = (f - 1.0) / (f + 1.0), s2 = s * s;
  Doubles series = Doubles{} + 1.0 / 13;
  for (int term = 11; term >= 1; term -= 2) series = series * s2 + 1.0 / term;
  out = -(kd * 0.6931471805599453 + 2.0 * s * series);
}

// Exp(1) draws into out[0, n): value i from SplitMix64's output i + 1 after `seed` (a counter-based stream
// that passes BigCrush), so a row's first m values do not depend on how many it fills. Never exactly 0: a
// zero would turn a masked token's 0 / 0 into NaN, which argmax would pick; the clamp moves a draw of
// probability 2^-52 by a negligible amount.
__attribute__((target_clones("avx512f", "avx2", "default"))) void exponentials(uint64_t seed, float* out,
                                                                               int64_t n) {
  const Floats floor = Floats{} + std::numeric_limits<float>::min();
  Longs counter;
  for (int64_t j = 0; j < kLanes; ++j) counter[j] = j + 1;
  for (int64_t i = 0; i < n; i += kLanes, counter += kLanes) {
    // Unsigned arithmetic wraps; Longs' right shifts would copy the sign bit, so those go through ULongs.
    ULongs z = (ULongs)(counter)*0x9E3779B97F4A7C15ull + seed;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    Doubles e64;
    minus_log_uniform((Longs)(z), e64);
    Floats e = __builtin_convertvector(e64, Floats);
    e = e < floor ? floor : e;
    __builtin_memcpy(out + i, &e, std::min(kLanes, n - i) * sizeof(float));
  }
}

// One 64-bit draw of the generator (its Mersenne Twister, as random64 takes it) seeds the values of the
// call: libtorch's exponential_ spent 11 ns a value, 1.7 ms for Qwen3's 151936-token vocabulary for each
// sampled token of each sequence.
void fill_exponential_cpu(float* out, int64_t n, at::Generator& generator) {
  uint64_t seed;
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    seed = at::check_generator<at::CPUGeneratorImpl>(generator)->random64();
  }
  exponentials(seed, out, n);
}

}  // namespace

void fill_exponential(const at::Tensor& out, at::Generator& generator) {
  if (generator.device().is_cpu() && out.device().is_cpu() && out.scalar_type() == at::kFloat &&
      out.is_contiguous()) {
    fill_exponential_cpu(out.data_ptr<float>(), out.numel(), generator);
    return;
  }
  if (generator.device().type() == out.device().type()) {
    out.exponential_(1.0, generator);
  } else {
    at::Tensor host = at::empty(out.sizes(), out.options().device(at::kCPU));
    host.exponential_(1.0, generator);
    out.copy_(host);
  }
  // A zero would turn a masked token's 0 / 0 into NaN, which argmax would pick; the clamp moves a draw of
  // probability ~2^-53 (CPU) by a negligible amount.
  out.clamp_min_(std::numeric_limits<float>::min());
}

}  // namespace torchllm
