#pragma once

// Decode steps as gpt-fast and vLLM run them on a GPU: the token ids, positions, slots and lengths of the
// batch go to preallocated device tensors in one non-blocking copy, and the step runs without a host
// synchronization. With static shapes the batch is padded to a bucket (1, 2, 4, ..., 64 sequences). On CUDA
// each bucket's step is captured once into a CUDA graph and replayed after, so a whole decode step is one
// copy, one graph launch, and reading back the sampled ids.

#include <ATen/Tensor.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "torchllm/kv_cache.h"
#include "torchllm/model.h"

namespace torchllm {

struct DecodeRunnerOptions {
  // Capture and replay CUDA graphs (CUDA with a bf16 / fp16 model only; the model's cuda_graphs() must allow
  // it too).
  bool cuda_graphs = true;
  // Shapes that stay the same from step to step, as a graph needs: the batch padded to its bucket, and
  // attention over the whole cache length (masked) on the fallback attention path. Graphs turn it on; off,
  // a step computes only its own rows and attends over its longest live sequence, reading the cache in
  // place when the slots are consecutive (what a CPU wants).
  bool static_shapes = false;
};

class DecodeRunner {
 public:
  static constexpr int64_t kMaxBatch = 64;
  // The batch sizes steps are padded to.
  static const std::vector<int64_t>& buckets();

  DecodeRunner(const Transformer& model, KvCache& cache, DecodeRunnerOptions options = {});
  ~DecodeRunner();

  // Whether decode() takes `batch`: 1..kMaxBatch chunks of one token each.
  static bool accepts(const std::vector<SequenceChunk>& batch);

  // The same as model.forward(batch, cache) for a batch accepts() takes, with the same checks: float32
  // logits [batch, vocab], valid until the next call.
  at::Tensor decode(const std::vector<SequenceChunk>& batch);

  // Buckets whose step has been captured into a CUDA graph.
  std::vector<int64_t> captured_buckets() const;
  bool uses_cuda_graphs() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace torchllm
