#pragma once

// The exact dimensions of public checkpoints, for benchmarks with random weights (no files needed).

#include <string>
#include <vector>

#include "torchllm/model_config.h"

namespace torchllm {

// qwen3-0.6b, qwen3-1.7b, qwen3-4b, qwen3-8b, qwen2.5-7b, llama3.2-1b, llama3.2-3b, llama3.1-8b,
// tinyllama-1.1b, llama2-7b
std::vector<std::string> model_shape_names();
// Throws Error(kInvalidArgument) listing the names for an unknown one.
ModelConfig model_shape(const std::string& name);

}  // namespace torchllm
