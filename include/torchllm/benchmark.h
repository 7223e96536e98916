#pragma once

// Prefill and decode throughput of a model, as llama-bench measures it: random prompt tokens, greedy decoding
// (or the sampling parameters given) through the batched sampler, warm-up excluded, the device synchronized
// before every clock reading.

#include <cstdint>
#include <string>

#include "torchllm/model.h"
#include "torchllm/sampler.h"

namespace torchllm {

struct BenchmarkCase {
  int64_t batch = 1;
  int64_t prompt_tokens = 512;
  int64_t gen_tokens = 128;
  int64_t repetitions = 3;
  // Every sequence samples with these (its seed: this one's plus its index); greedy by default.
  SamplingParams sampling = greedy_sampling();

  static SamplingParams greedy_sampling() {
    SamplingParams p;
    p.temperature = 0;
    return p;
  }
};

struct BenchmarkResult {
  BenchmarkCase config;
  double prefill_tok_s = 0;  // batch * prompt_tokens / prefill time (mean over repetitions)
  double decode_tok_s = 0;   // batch * (gen_tokens - 1) / decode time, the first token being the prefill's
  double decode_tok_s_stddev = 0;
  double ttft_ms = 0;           // prefill and the first sampled token
  uint64_t peak_mem_bytes = 0;  // device memory on CUDA, else the process's peak resident memory
  bool cuda_graphs = false;     // decode steps replayed CUDA graphs
};

BenchmarkResult run_benchmark(const Transformer& model, const BenchmarkCase& config, uint64_t seed = 0);

}  // namespace torchllm
