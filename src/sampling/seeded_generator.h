#pragma once

// The one place where sampling depends on the device: a generator per sequence, and exponential noise drawn
// from it.

#include <ATen/Tensor.h>
#include <ATen/core/Generator.h>
#include <c10/core/Device.h>

#include <cstdint>

namespace torchllm {

// A generator of its own, seeded with `seed`, on `device` where libtorch has generators for that device type
// (CPU, CUDA); elsewhere (MPS on libtorch 1.13) a CPU generator, whose noise fill_exponential then uploads.
at::Generator make_seeded_generator(c10::Device device, uint64_t seed);

// Fills `out` (float32, any device) with independent Exp(1) draws from `generator`, never exactly 0. A CPU
// generator with contiguous CPU float32 `out` gives one 64-bit draw per call, which seeds a counter-based
// stream: the first m values are the same whatever the number filled. Elsewhere libtorch's exponential_.
void fill_exponential(const at::Tensor& out, at::Generator& generator);

}  // namespace torchllm
