#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace torchllm {

// "auto" | "cpu" | "cuda" | "cuda:N" | "mps"; auto picks CUDA, then MPS, then CPU. Throws when unavailable.
c10::Device resolve_device(const std::string& spec);

// "auto" | "bf16" | "fp16" | "fp32" (also "bfloat16", "float16", "float32"). auto: bf16 on CUDA and on CPUs
// with native bf16 (AVX512-BF16 / AMX), fp16 on MPS, else fp32.
c10::ScalarType resolve_dtype(const std::string& spec, const c10::Device& device);

const char* dtype_name(c10::ScalarType dtype);

// Intra-op threads for CPU math: 0 means one per core.
void configure_cpu_threads(int threads);

// The threads the math uses by default: one per physical core the process may run on (its affinity mask;
// hyperthreads of a core count once), at most its cgroup's CPU quota, at least 1.
int default_cpu_threads();
// The same from explicit sources, for tests: the allowed CPU ids, a sysfs cpu directory
// (cpuN/topology/{physical_package_id,core_id}) and a cgroup directory (cpu.max, or cpu/cpu.cfs_*_us).
int math_threads_for(const std::vector<int>& allowed_cpus, const std::string& cpu_sysfs_dir,
                     const std::string& cgroup_dir);

// Peak memory since the last reset: allocated device memory on CUDA, the process's peak resident memory
// elsewhere (which cannot be reset).
void reset_peak_memory(const c10::Device& device);
// "cpu", or the GPU's name (e.g. "NVIDIA H100 80GB HBM3").
std::string device_name(const c10::Device& device);
// Memory bandwidth in GB/s of GPUs whose figure is published, by device_name; 0 when unknown.
double known_bandwidth_gb_s(const std::string& device_name);
uint64_t peak_memory_bytes(const c10::Device& device);
// Bytes that can still be allocated: on a Linux CPU the kernel's MemAvailable plus free swap; nothing where
// it is not known (other devices fail their allocations cleanly instead).
std::optional<uint64_t> available_memory_bytes(const c10::Device& device);
// The kernel's MemAvailable alone (what can be allocated without swapping); nothing where unknown.
std::optional<uint64_t> available_ram_bytes();
struct DeviceMemory {
  uint64_t free = 0;   // as the driver reports it: other processes' use and libtorch's cached blocks count
  uint64_t total = 0;  // as used
};
// A CUDA device's free and total memory; nothing for other devices or when the driver does not say.
std::optional<DeviceMemory> device_memory(const c10::Device& device);
// Whether a libtorch error message reports a failed allocation (CPU and CUDA allocators word it differently).
bool is_out_of_memory_message(const std::string& message);

}  // namespace torchllm
