#pragma once

// Continuous batching over a paged KV cache: sequences wait in a queue, are admitted while KV blocks and
// running places are free (sharing the cached blocks of a prompt prefix computed before), prefill their
// prompts in chunks, and decode one token each per step in a single batched forward pass. When blocks run
// out mid-generation the most recently admitted sequence is preempted (its blocks freed, itself requeued and
// recomputed later), as vLLM does. Used from one thread (the engine thread); callbacks run on it.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "torchllm/generation.h"
#include "torchllm/model.h"
#include "torchllm/tokenizer.h"

namespace torchllm {

struct SchedulerOptions {
  int64_t max_batch = 1;   // sequences running at once (--parallel)
  int64_t max_seq = 4096;  // positions per sequence (the context)
  int64_t prefill_chunk =
      512;  // prompt tokens per sequence per step, so a long prompt does not stall decoding
  // Steps that only decode (up to 64 sequences) run through a DecodeRunner: static shapes, CUDA graphs on
  // CUDA. Off: every step through Transformer::forward (for comparisons).
  bool static_decode = true;
  int64_t kv_block_size = 16;  // positions per KV block (--kv-block-size)
  // Blocks in the KV pool; 0: enough for max_batch sequences of max_seq positions. At least one sequence of
  // max_seq positions must fit.
  int64_t kv_blocks = 0;
  bool prefix_caching = true;  // share the blocks of prompt prefixes computed before (--no-prefix-cache)
};

// What the KV pool holds and what prefix caching saved, since the scheduler started.
struct KvCacheStats {
  int64_t block_size = 0;
  int64_t blocks_total = 0;
  int64_t blocks_used = 0;             // held by running sequences
  int64_t blocks_cached = 0;           // free but holding a cached prefix (reusable until evicted)
  int64_t prompt_tokens = 0;           // prompt tokens of admitted sequences (each counted once)
  int64_t prefix_hit_tokens = 0;       // of those, taken from cached blocks instead of computed
  int64_t computed_prompt_tokens = 0;  // prompt (and recomputed) tokens that forward passes computed
  int64_t preemptions = 0;
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

  // Admits waiting sequences in order while a running place and the KV blocks of their prompts are free
  // (cached blocks of a prompt's prefix are shared, not computed again; a sequence whose prefix another one
  // is computing right now waits for it), preempts sequences when the blocks of the next step run out, runs
  // one forward pass, samples, and delivers callbacks. Cancelled sequences leave first. Returns false when
  // there was nothing to do.
  bool step();

  bool has_work() const;
  size_t waiting() const;
  size_t running() const;
  const SchedulerOptions& options() const;
  KvCacheStats kv_stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace torchllm
