#include "torchllm/device.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <fstream>
#include <thread>

#include "model/torch_compat.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

bool cpu_has_native_bf16() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) == 0) {
      return line.find(" avx512_bf16") != std::string::npos || line.find(" amx_bf16") != std::string::npos;
    }
  }
  return false;
}

}  // namespace

c10::Device resolve_device(const std::string& spec) {
  if (spec == "auto") {
    if (at::hasCUDA()) return c10::Device(c10::kCUDA, 0);
    if (compat::has_mps()) return c10::Device(c10::kMPS);
    return c10::Device(c10::kCPU);
  }
  if (spec == "cpu") return c10::Device(c10::kCPU);
  if (spec == "mps") {
    if (!compat::has_mps()) throw Error::unsupported("device 'mps' is not available in this build/machine");
    return c10::Device(c10::kMPS);
  }
  if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
    if (!at::hasCUDA()) {
      throw Error::unsupported("device '" + spec +
                               "' requested but this libtorch has no CUDA or no GPU is visible");
    }
    int index = 0;
    if (spec.size() > 5) {
      const std::string digits = spec.substr(5);
      if (digits.empty() || digits.size() > 3 ||
          digits.find_first_not_of("0123456789") != std::string::npos) {
        throw Error::invalid_argument("invalid device '" + spec + "' (expected cuda:N)");
      }
      index = std::stoi(digits);
    }
    if (index >= compat::cuda_device_count()) {
      throw Error::invalid_argument("device '" + spec + "' does not exist (" +
                                    std::to_string(compat::cuda_device_count()) + " CUDA device(s) visible)");
    }
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw Error::invalid_argument("unknown device '" + spec + "' (expected auto, cpu, cuda, cuda:N or mps)");
}

c10::ScalarType resolve_dtype(const std::string& spec, const c10::Device& device) {
  if (spec == "bf16" || spec == "bfloat16") return at::kBFloat16;
  if (spec == "fp16" || spec == "float16" || spec == "half") return at::kHalf;
  if (spec == "fp32" || spec == "float32" || spec == "float") return at::kFloat;
  if (spec != "auto")
    throw Error::invalid_argument("unknown dtype '" + spec + "' (expected auto, bf16, fp16, fp32)");
  if (device.is_cuda()) return at::kBFloat16;
  if (device.is_mps()) return at::kHalf;
  return cpu_has_native_bf16() ? at::kBFloat16 : at::kFloat;
}

const char* dtype_name(c10::ScalarType dtype) {
  switch (dtype) {
    case at::kBFloat16:
      return "bf16";
    case at::kHalf:
      return "fp16";
    case at::kFloat:
      return "fp32";
    default:
      return "other";
  }
}

void configure_cpu_threads(int threads) {
  if (threads < 0) throw Error::invalid_argument("--threads must be 0 (all cores) or positive");
  int n = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
  if (n > 0) at::set_num_threads(n);
}

}  // namespace torchllm
