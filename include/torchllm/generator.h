#pragma once

// One generation at a time in the calling thread (the CLI's run and chat). Consecutive generations whose
// prompts share a prefix (a chat that only grew) reuse its K/V instead of computing it again.

#include <functional>
#include <memory>

#include "torchllm/generation.h"
#include "torchllm/model.h"
#include "torchllm/tokenizer.h"

namespace torchllm {

class Scheduler;

class Generator {
 public:
  Generator(const Transformer& model, const Tokenizer& tokenizer, int64_t context);
  ~Generator();

  // Runs to the end, calling on_delta as text becomes final. Throws Error: kInvalidArgument for a prompt that
  // does not fit the context (naming both numbers), or what the model throws.
  GenerationResult generate(GenerationRequest request,
                            const std::function<void(const GenerationDelta&)>& on_delta = {});

  int64_t context() const;

 private:
  std::unique_ptr<Scheduler> scheduler_;
};

}  // namespace torchllm
