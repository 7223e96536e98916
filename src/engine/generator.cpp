#include "torchllm/generator.h"

#include <optional>

#include "torchllm/device.h"
#include "torchllm/error.h"
#include "torchllm/scheduler.h"

namespace torchllm {

Generator::Generator(const Transformer& model, const Tokenizer& tokenizer, int64_t context)
    : Generator(model, tokenizer, [context] {
        SchedulerOptions options;
        options.max_seq = context;
        return options;
      }()) {}

Generator::Generator(const Transformer& model, const Tokenizer& tokenizer, SchedulerOptions options) {
  options.max_batch = 1;
  scheduler_ = std::make_unique<Scheduler>(model, tokenizer, options);
}

KvCacheStats Generator::kv_stats() const { return scheduler_->kv_stats(); }

Generator::~Generator() = default;

int64_t Generator::context() const { return scheduler_->options().max_seq; }

GenerationResult Generator::generate(GenerationRequest request,
                                     const std::function<void(const GenerationDelta&)>& on_delta) {
  std::optional<GenerationResult> result;
  std::optional<std::string> error;
  GenerationCallbacks callbacks;
  callbacks.on_delta = on_delta;
  callbacks.on_finish = [&](const GenerationResult& r) { result = r; };
  callbacks.on_error = [&](const std::string& message) { error = message; };
  scheduler_->submit(std::move(request), std::move(callbacks));
  while (!result && !error) {
    if (!scheduler_->step()) throw Error::internal("generation stopped without finishing");
  }
  if (error) {
    if (is_out_of_memory_message(*error))
      throw Error::exhausted("out of memory during generation: " + *error);
    throw Error::internal("generation failed: " + *error);
  }
  return std::move(*result);
}

}  // namespace torchllm
