#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "torchllm/generation.h"
#include "torchllm/scheduler.h"
#include "torchllm/tokenizer.h"

namespace torchllm::cli {

// "prompt 12 tokens (3 cached), 410.2 tok/s | generated 64 tokens, 35.1 tok/s | first token 29 ms | stop"
std::string generation_summary(const GenerationResult& result);

// "KV cache: 7/256 blocks of 16 tokens in use, 12 cached; prefix cache: 1234 of 1500 prompt tokens from the
// cache" (and ", N preemptions" when there were any).
std::string kv_cache_summary(const KvCacheStats& stats);

// {"text", "tokens", "finish_reason", "stop", "usage": {...}, "stats": {...}, "logprobs": [...]}
nlohmann::ordered_json generation_json(const GenerationResult& result, const Tokenizer& tokenizer,
                                       bool with_logprobs);

}  // namespace torchllm::cli
