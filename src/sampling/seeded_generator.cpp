#include "sampling/seeded_generator.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

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

void fill_exponential(const at::Tensor& out, at::Generator& generator) {
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
