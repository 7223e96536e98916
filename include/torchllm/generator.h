#pragma once

// One generation at a time in the calling thread (the CLI's run and chat). Consecutive generations whose
// prompts share a prefix (a chat that only grew) reuse its K/V instead of computing it again.

#include <functional>
#include <memory>

#include "torchllm/generation.h"
#include "torchllm/model.h"
#include "torchllm/scheduler.h"
#include "torchllm/tokenizer.h"

namespace torchllm {

class Generator {
 public:
  Generator(const Transformer& model, const Tokenizer& tokenizer, int64_t context);
  // One sequence at a time with these KV options (block size, prefix caching); max_batch is ignored.
  Generator(const Transformer& model, const Tokenizer& tokenizer, SchedulerOptions options);
  ~Generator();

  // Runs to the end, calling on_delta as text becomes final. Throws Error: kInvalidArgument for a prompt that
  // does not fit the context (naming both numbers), or what the model throws.
  GenerationResult generate(GenerationRequest request,
                            const std::function<void(const GenerationDelta&)>& on_delta = {});

  int64_t context() const;
  KvCacheStats kv_stats() const;

 private:
  std::unique_ptr<Scheduler> scheduler_;
};

}  // namespace torchllm
