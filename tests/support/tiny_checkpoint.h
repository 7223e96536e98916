#pragma once

// Small random-weight checkpoints in the Hugging Face layout, made on the fly for tests.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace torchllm::testing {

// Variants covering every architecture flag: "qwen3", "qwen2", "llama3", "llama2", "mistral", "gpt2".
std::vector<std::string> tiny_variants();
nlohmann::json tiny_config_json(const std::string& variant);

// Writes config.json and model.safetensors (weights ~ N(0, std), norms ~ 1 + N(0, 0.1)) into `dir`.
void write_tiny_checkpoint(const std::string& dir, const nlohmann::json& config, uint64_t seed,
                           const std::string& storage_dtype = "F32", double std = 0.1);

// The device the model tests run on: $TORCHLLM_TEST_DEVICE (cuda on the GPU machine), else cpu.
std::string test_device();

// A fresh empty directory under the system temp dir.
std::string make_temp_dir(const std::string& prefix);

}  // namespace torchllm::testing
