#include "model/allocation.h"

#include <c10/util/Exception.h>

#include <cstdio>
#include <optional>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "torchllm/device.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

std::string gigabytes(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f GB", bytes / 1e9);
  return text;
}

}  // namespace

void allocate_checked(const c10::Device& device, double bytes, const std::string& what,
                      const std::string& remedy, const std::function<void()>& allocate) {
  const std::string needs = what + " needs " + gigabytes(bytes) + " on " + device.str();
  if (const std::optional<uint64_t> available = available_memory_bytes(device);
      available && bytes > static_cast<double>(*available)) {
    throw Error::exhausted("out of memory: " + needs + " but only " +
                           gigabytes(static_cast<double>(*available)) + " is available; " + remedy);
  }
  try {
    allocate();
  } catch (const c10::Error& e) {
    if (!is_out_of_memory_message(e.what_without_backtrace())) throw;
    throw Error::exhausted("out of memory: " + needs + " and the allocation failed; " + remedy);
  } catch (const std::bad_alloc&) {
    throw Error::exhausted("out of memory: " + needs + " and the allocation failed; " + remedy);
  }
}

void return_freed_memory_to_system() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace torchllm
