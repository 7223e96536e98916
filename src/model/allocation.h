#pragma once

#include <c10/core/Device.h>

#include <functional>
#include <string>

namespace torchllm {

// Runs `allocate`, which makes tensors of about `bytes` on `device` for `what` ("the KV cache for 1 x 4096
// tokens"). Refuses beforehand when the device is known to have less memory available: on Linux a CPU
// allocation larger than memory succeeds and the process is killed when the pages are touched. An allocation
// that fails anyway becomes Error(kResourceExhausted). `remedy` says what the user can change.
void allocate_checked(const c10::Device& device, double bytes, const std::string& what,
                      const std::string& remedy, const std::function<void()>& allocate);

// Hands the heap memory that loading freed (conversion and quantization buffers) back to the system. The CLI
// keeps freed memory in the process for reuse between forward passes (cli/allocator_tuning.h), which would
// otherwise leave a load's temporaries resident for the life of the process. glibc only; elsewhere nothing.
void return_freed_memory_to_system();

}  // namespace torchllm
