#pragma once

// Continuous batching: sequences wait in a queue, are admitted into free KV slots, prefill their prompts in
// chunks, and decode one token each per step in a single batched forward pass. Used from one thread (the
// engine thread); callbacks run on it.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "torchllm/generation.h"
#include "torchllm/model.h"
#include "torchllm/tokenizer.h"

namespace torchllm {

struct SchedulerOptions {
  int64_t max_batch = 1;   // KV slots: sequences running at once
  int64_t max_seq = 4096;  // positions per slot (the context)
  int64_t prefill_chunk =
      512;  // prompt tokens per sequence per step, so a long prompt does not stall decoding
  // Steps that only decode (up to 64 sequences) run through a DecodeRunner: static shapes, CUDA graphs on
  // CUDA. Off: every step through Transformer::forward (for comparisons).
  bool static_decode = true;
};

struct GenerationCallbacks {
  std::function<void(const GenerationDelta&)> on_delta;      // may be empty
  std::function<void(const GenerationResult&)> on_finish;    // exactly once, unless on_error is called
  std::function<void(const std::string& message)> on_error;  // exactly once instead of on_finish
};

class Scheduler {
 public:
  using SequenceId = uint64_t;

  Scheduler(const Transformer& model, const Tokenizer& tokenizer, const SchedulerOptions& options);
  ~Scheduler();

  // Queues a generation. Throws Error(kInvalidArgument) for an empty prompt, a prompt that leaves no room in
  // the context ("prompt has N tokens but the context is M"), or invalid sampling parameters.
  SequenceId submit(GenerationRequest request, GenerationCallbacks callbacks);

  // Admits waiting sequences while slots are free (a slot whose cached tokens share the longest prefix with
  // the prompt is preferred, and that prefix is not computed again), runs one forward pass, samples, and
  // delivers callbacks. Cancelled sequences leave first. Returns false when there was nothing to do.
  bool step();

  bool has_work() const;
  size_t waiting() const;
  size_t running() const;
  const SchedulerOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace torchllm
