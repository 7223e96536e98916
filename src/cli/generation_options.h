#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "torchllm/generation.h"
#include "torchllm/sampler.h"
#include "torchllm/scheduler.h"

namespace torchllm::cli {

// The sampling and stopping flags `run` and `chat` share. Flags left out fall back to the model's
// generation_config.json, then to OpenAI's defaults.
struct GenerationOptions {
  std::optional<double> temperature, top_p, min_p, repetition_penalty, presence_penalty, frequency_penalty;
  std::optional<int64_t> top_k;
  std::vector<std::string> logit_bias;  // "ID=BIAS"
  std::optional<uint64_t> seed;
  std::optional<int64_t> max_tokens;
  std::vector<std::string> stop;
  bool ignore_eos = false;
  int64_t context = 0;  // 0: the model's max_position_embeddings, at most kDefaultContext
  int64_t kv_block_size = 16;
  bool prefix_caching = true;  // a chat's turns reuse the K/V of the conversation so far

  static constexpr int64_t kDefaultContext = 4096;

  void add_to(CLI::App& command);
  // The model's defaults with the flags on top; a value out of range is a usage error (exit code 2).
  SamplingParams sampling(const std::string& model_dir, int64_t vocab_size) const;
  // --context, capped at the model's maximum (with a warning on `warnings`), else the default.
  int64_t resolved_context(int64_t max_position_embeddings, std::ostream& warnings) const;
  // The generator's KV pool: one sequence of `context` positions in blocks of --kv-block-size, prefix
  // caching unless --no-prefix-cache. A block size below 1 is a usage error (exit code 2).
  SchedulerOptions kv_options(int64_t context) const;
  // A request for `prompt` with these flags and `sampling`.
  GenerationRequest request(std::vector<TokenId> prompt, const SamplingParams& sampling) const;
};

// A --context the model was not made for is capped at its max_position_embeddings, with a warning (as Ollama
// does); 0 stays 0 (the caller's default).
int64_t capped_context(int64_t requested, int64_t max_position_embeddings, std::ostream& warnings);

// Sets one sampling parameter by its name (temperature, top_k, top_p, min_p, repetition_penalty,
// presence_penalty, frequency_penalty, seed; "none" clears the seed). Throws Error(kInvalidArgument).
void set_sampling_param(SamplingParams& params, const std::string& name, const std::string& value);
// "temperature=0.7 top_k=20 ..." for display.
std::string describe_sampling(const SamplingParams& params);

}  // namespace torchllm::cli
