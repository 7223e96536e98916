#include "sampling/seeded_generator.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <mutex>
#include <vector>

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
typedef float Floats __attribute__((vector_size(kLanes * sizeof(float))));
// A cast between these vector types of one size keeps the bits (GCC vector extensions).

// -ln(y) for the uniform y = 2 - (1 + m 2^-52) in (0, 1], m the top 52 bits of each draw: Exp(1) draws (y =
// 1, probability 2^-52, gives 0). ln y = k ln 2 + 2 atanh(s), s = (f - 1) / (f + 1), y = f 2^k with f in
// [sqrt(1/2), sqrt(2)), |s| <= 0.1716: ten terms of the series are within 1e-16 of it, and near y = 1 (the
// small draws that decide rare tokens) the error stays relative, as f - 1 = y - 1 exactly.
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
  Doubles series = Doubles{} + 1.0 / 21;
  for (int term = 19; term >= 1; term -= 2) series = series * s2 + 1.0 / term;
  out = -(kd * 0.6931471805599453 + 2.0 * s * series);
}

// Exp(1) draws into out[0, n) from `draws` (one 64-bit value each, as libtorch's exponential_ takes), never
// exactly 0: a zero would turn a masked token's 0 / 0 into NaN, which argmax would pick, and the clamp moves
// a draw of probability 2^-52 by a negligible amount.
__attribute__((target_clones("avx512f", "avx2", "default"))) void exponentials(const uint64_t* draws,
                                                                               float* out, int64_t n) {
  const Floats floor = Floats{} + std::numeric_limits<float>::min();
  for (int64_t i = 0; i < n; i += kLanes) {
    Longs d{};
    const int64_t lanes = std::min(kLanes, n - i);
    __builtin_memcpy(&d, draws + i, lanes * sizeof(uint64_t));
    Doubles e64;
    minus_log_uniform(d, e64);
    Floats e = __builtin_convertvector(e64, Floats);
    e = e < floor ? floor : e;
    __builtin_memcpy(out + i, &e, lanes * sizeof(float));
  }
}

// The CPU generator's own Mersenne Twister stepped here, inlined (libtorch's exponential_ spent 11 ns a
// value: 1.7 ms for Qwen3's 151936-token vocabulary, each sampled token of each sequence).
void fill_exponential_cpu(float* out, int64_t n, at::Generator& generator) {
  thread_local std::vector<uint64_t> draws;
  draws.resize(static_cast<size_t>(n));
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    auto* cpu = at::check_generator<at::CPUGeneratorImpl>(generator);
    at::mt19937 engine = cpu->engine();
    for (int64_t i = 0; i < n; ++i) {
      const uint64_t high = engine();
      draws[static_cast<size_t>(i)] = high << 32 | engine();
    }
    cpu->set_engine(engine);
  }
  exponentials(draws.data(), out, n);
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
