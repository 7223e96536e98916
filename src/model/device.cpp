#include "torchllm/device.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <sys/resource.h>

#include <fstream>
#include <sstream>

#ifdef TORCHLLM_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

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
  if (threads < 0) throw Error::invalid_argument("--threads must be 0 (every physical core) or positive");
  at::set_num_threads(threads > 0 ? threads : default_cpu_threads());
}

#ifdef TORCHLLM_WITH_CUDA
namespace {
c10::DeviceIndex cuda_index(const c10::Device& device) {
  return device.has_index() ? device.index() : c10::cuda::current_device();
}
}  // namespace
#endif

void reset_peak_memory(const c10::Device& device) {
#ifdef TORCHLLM_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(cuda_index(device));
#else
  (void)device;
#endif
}

std::string device_name(const c10::Device& device) {
#ifdef TORCHLLM_WITH_CUDA
  if (device.is_cuda()) return at::cuda::getDeviceProperties(cuda_index(device))->name;
#endif
  return device.str();
}

double known_bandwidth_gb_s(const std::string& name) {
  // Vendor data sheets; the first matching entry wins, so more specific names come first.
  static const std::pair<const char*, double> kKnown[] = {
      {"H200", 4800},           {"H100 NVL", 3900},       {"H100 PCIe", 2000}, {"H100", 3350},
      {"A100-SXM4-80GB", 2039}, {"A100 80GB PCIe", 1935}, {"A100", 1555},      {"L40S", 864},
      {"RTX 4090", 1008},       {"RTX 3090", 936},        {"L4", 300},         {"T4", 320}};
  for (const auto& [key, bandwidth] : kKnown) {
    if (name.find(key) != std::string::npos) return bandwidth;
  }
  return 0;
}

uint64_t peak_memory_bytes(const c10::Device& device) {
#ifdef TORCHLLM_WITH_CUDA
  if (device.is_cuda()) {
    // allocated_bytes[0] is the aggregate over all pool types.
    return static_cast<uint64_t>(
        c10::cuda::CUDACachingAllocator::getDeviceStats(cuda_index(device)).allocated_bytes[0].peak);
  }
#else
  (void)device;
#endif
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;
}

namespace {

// MemAvailable and SwapFree of /proc/meminfo, in bytes.
std::pair<std::optional<uint64_t>, uint64_t> meminfo_available_and_swap() {
  std::ifstream meminfo("/proc/meminfo");
  std::optional<uint64_t> available;
  uint64_t swap_free = 0;
  std::string line;
  while (std::getline(meminfo, line)) {  // "MemAvailable:   20512345 kB"; some lines have no unit
    std::istringstream fields(line);
    std::string key;
    uint64_t kilobytes = 0;
    if (!(fields >> key >> kilobytes)) continue;
    if (key == "MemAvailable:") available = kilobytes * 1024;
    if (key == "SwapFree:") swap_free = kilobytes * 1024;
  }
  return {available, swap_free};
}

}  // namespace

std::optional<uint64_t> available_memory_bytes(const c10::Device& device) {
  if (!device.is_cpu()) return std::nullopt;
  const auto [available, swap_free] = meminfo_available_and_swap();
  if (!available) return std::nullopt;
  return *available + swap_free;
}

std::optional<uint64_t> available_ram_bytes() { return meminfo_available_and_swap().first; }

std::optional<DeviceMemory> device_memory(const c10::Device& device) {
#ifdef TORCHLLM_WITH_CUDA
  if (device.is_cuda()) {
    c10::cuda::CUDAGuard on_device(cuda_index(device));
    size_t free = 0, total = 0;
    if (cudaMemGetInfo(&free, &total) != cudaSuccess || total == 0) return std::nullopt;
    return DeviceMemory{static_cast<uint64_t>(free), static_cast<uint64_t>(total)};
  }
#else
  (void)device;
#endif
  return std::nullopt;
}

bool is_out_of_memory_message(const std::string& message) {
  for (const char* marker :
       {"out of memory", "Out of memory", "not enough memory", "can't allocate memory"}) {
    if (message.find(marker) != std::string::npos) return true;
  }
  return false;
}

}  // namespace torchllm
