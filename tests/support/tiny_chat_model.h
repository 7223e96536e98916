#pragma once

// A whole small chat model directory for end-to-end tests of run, chat and serve: a Qwen3 checkpoint with
// random weights, a byte-level BPE tokenizer.json with the ChatML special tokens, tokenizer_config.json with
// a ChatML chat template (honouring enable_thinking like Qwen3's) and generation_config.json.

#include <cstdint>
#include <string>

namespace torchllm::testing {

// Writes config.json, model.safetensors, tokenizer.json, tokenizer_config.json and generation_config.json.
void write_tiny_chat_model(const std::string& dir, uint64_t seed, const std::string& storage_dtype = "F32");

}  // namespace torchllm::testing
