#pragma once

#include <cstdint>
#include <functional>

namespace torchllm::cli {

// A progress callback for Transformer::load that draws a bar on stderr when stderr is a terminal and the load
// has been running for a noticeable time; otherwise it prints nothing.
std::function<void(uint64_t done, uint64_t total)> make_load_progress();

}  // namespace torchllm::cli
