#include "sampling/seeded_generator.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <mutex>

#include "sampling/vector_log.h"

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

using vector_log::Doubles;
using vector_log::Floats;
using vector_log::kLanes;
using vector_log::Longs;
using vector_log::ULongs;

// -ln(y) for the uniform y = 2 - (1 + m 2^-52) in (0, 1], m the top 52 bits of each draw: Exp(1) draws (y =
// 1, probability 2^-52, gives 0); near y = 1 (the small draws that decide rare tokens) ln's error stays
// relative.
inline void minus_log_uniform(const Longs& draws, Doubles& out) {
  const Longs exponent_one = Longs{} + 0x3FF0000000000000;
  const Longs mantissa = Longs{} + 0x000FFFFFFFFFFFFF;
  const Doubles y = 2.0 - (Doubles)(exponent_one | ((draws >> 12) & mantissa));
  vector_log::ln_positive(y, out);
  out = -out;
}

// Exp(1) draws into out[0, n): value i from SplitMix64's output i + 1 after `seed` (a counter-based stream
// that passes BigCrush), so a row's first m values do not depend on how many it fills. Never exactly 0: a
// zero would turn a masked token's 0 / 0 into NaN, which argmax would pick; the clamp moves a draw of
// probability 2^-52 by a negligible amount.
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) void exponentials(uint64_t seed,
                                                                                      float* out, int64_t n) {
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
