#include "torchllm/benchmark.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cmath>
#include <memory>

#include "torchllm/decode_runner.h"
#include "torchllm/device.h"
#include "torchllm/error.h"
#include "torchllm/sampler.h"

namespace torchllm {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Timings {
  double prefill_s = 0, ttft_s = 0, decode_s = 0;
};

// One prefill of every sequence followed by gen_tokens - 1 decode steps. Reading the sampled ids back to the
// host synchronizes the device, so each clock reading sees finished work.
Timings run_once(const Transformer& model, KvCache& cache, DecodeRunner& decoder, const BenchmarkCase& c,
                 at::Generator& gen, int64_t gen_tokens) {
  const int64_t vocab = model.config().vocab_size;
  std::vector<std::unique_ptr<SequenceSampler>> samplers;
  std::vector<SequenceSampler*> rows;
  std::vector<SequenceChunk> chunks(static_cast<size_t>(c.batch));
  for (int64_t b = 0; b < c.batch; ++b) {
    at::Tensor prompt = at::randint(vocab, {c.prompt_tokens}, gen, at::TensorOptions().dtype(at::kLong));
    chunks[b].slot = b;
    chunks[b].start = 0;
    chunks[b].tokens.assign(prompt.data_ptr<int64_t>(), prompt.data_ptr<int64_t>() + c.prompt_tokens);
    SamplingParams params = c.sampling;
    params.seed = c.sampling.seed.value_or(0) + static_cast<uint64_t>(b);
    samplers.push_back(
        std::make_unique<SequenceSampler>(params, model.device(), vocab, std::vector<int64_t>{}));
    rows.push_back(samplers.back().get());
  }
  Timings t;
  const auto start = Clock::now();
  at::Tensor logits = model.forward(chunks, cache);
  logits.cpu();
  t.prefill_s = seconds_since(start);
  std::vector<SampledToken> next = sample_batch(logits, rows);
  t.ttft_s = seconds_since(start);
  const auto decode_start = Clock::now();
  for (int64_t step = 1; step < gen_tokens; ++step) {
    for (int64_t b = 0; b < c.batch; ++b) {
      chunks[b].start = c.prompt_tokens + step - 1;
      chunks[b].tokens = {next[b].token};
    }
    next = sample_batch(DecodeRunner::accepts(chunks) ? decoder.decode(chunks) : model.forward(chunks, cache),
                        rows);
  }
  t.decode_s = seconds_since(decode_start);
  return t;
}

}  // namespace

BenchmarkResult run_benchmark(const Transformer& model, const BenchmarkCase& c, uint64_t seed) {
  if (c.batch < 1 || c.prompt_tokens < 1 || c.gen_tokens < 1 || c.repetitions < 1) {
    throw Error::invalid_argument("benchmark sizes must be at least 1");
  }
  c10::InferenceMode guard;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  KvCache cache = model.make_cache(c.batch, c.prompt_tokens + c.gen_tokens);
  DecodeRunner decoder(model, cache);
  // Warm-up: allocator, kernels, caches, and the decode step's CUDA graph (captured on its first use).
  run_once(model, cache, decoder, c, gen, std::min<int64_t>(c.gen_tokens, 4));
  reset_peak_memory(model.device());

  BenchmarkResult r;
  r.config = c;
  std::vector<double> decode_rates;
  for (int64_t rep = 0; rep < c.repetitions; ++rep) {
    const Timings t = run_once(model, cache, decoder, c, gen, c.gen_tokens);
    r.prefill_tok_s += c.batch * c.prompt_tokens / t.prefill_s / c.repetitions;
    r.ttft_ms += t.ttft_s * 1000 / c.repetitions;
    if (c.gen_tokens > 1) decode_rates.push_back(c.batch * (c.gen_tokens - 1) / t.decode_s);
  }
  if (!decode_rates.empty()) {
    for (double rate : decode_rates) r.decode_tok_s += rate / decode_rates.size();
    double variance = 0;
    for (double rate : decode_rates) variance += (rate - r.decode_tok_s) * (rate - r.decode_tok_s);
    r.decode_tok_s_stddev = std::sqrt(variance / decode_rates.size());
  }
  r.peak_mem_bytes = peak_memory_bytes(model.device());
  r.cuda_graphs = decoder.uses_cuda_graphs();
  return r;
}

}  // namespace torchllm
