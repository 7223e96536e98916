// Per-row cost of sampling with top_p and no top_k (Llama 3's generation config: temperature 0.6, top_p 0.9)
// on a real vocabulary size, through sample_batch (the leading 1024 candidates) and through the whole sorted
// vocabulary written out with the processors (what sample_batch did before). A measurement, not a test:
//   sampler_benchmark [VOCAB] [THREADS]
// The logits are Zipf-like, as a language model's are: a random ranking with logit -1.2 * ln(1 + rank).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "sampling/logits_processors.h"
#include "sampling/seeded_generator.h"
#include "torchllm/sampler.h"

using namespace torchllm;

int main(int argc, char** argv) {
  const int64_t vocab = argc > 1 ? std::atoll(argv[1]) : 128256;
  if (argc > 2) at::set_num_threads(std::atoi(argv[2]));
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1);
  const at::Tensor rank = at::randperm(vocab, gen, at::TensorOptions().dtype(at::kLong)).to(at::kFloat);
  const at::Tensor logits = (-1.2 * at::log1p(rank)).view({1, vocab});  // [1, vocab]
  SamplingParams p;
  p.temperature = 0.6;
  p.top_p = 0.9;
  p.seed = 5;
  SequenceSampler sampler(p, c10::kCPU, vocab, {});
  at::Generator reference = make_seeded_generator(c10::kCPU, 5);
  using Clock = std::chrono::steady_clock;
  auto time = [](auto&& f, int reps) {
    f();
    const auto start = Clock::now();
    for (int i = 0; i < reps; ++i) f();
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count() / reps;
  };
  const double ours = time([&] { sample_batch(logits, {&sampler}); }, 50);
  const double sorted = time(
      [&] {
        Candidates c = sort_candidates(logits.clone());
        apply_temperature(c.logits, at::full({1, 1}, p.temperature));
        apply_top_p(c.logits, at::full({1, 1}, p.top_p));
        const at::Tensor noise = at::ones({1, vocab});
        fill_exponential(noise[0], reference);
        exponential_race(c, noise);
      },
      50);
  std::printf(
      "vocab %lld, %d threads, temperature 0.6 top_p 0.9: sample_batch %.3f ms/row, sorted vocabulary "
      "%.3f ms/row\n",
      static_cast<long long>(vocab), at::get_num_threads(), ours, sorted);

  // A decode step of 16 sequences with the same parameters, per common setting.
  struct Setting {
    const char* name;
    double temperature, top_p;
    int64_t top_k;
  };
  const Setting settings[] = {{"greedy", 0.0, 1.0, 0},
                              {"temperature 1 (OpenAI's default)", 1.0, 1.0, 0},
                              {"temperature 0.6 top_p 0.9 (Llama 3)", 0.6, 0.9, 0},
                              {"temperature 0.8 top_k 40 top_p 0.9 (Ollama)", 0.8, 0.9, 40}};
  constexpr int64_t kRows = 16;
  const at::Tensor batch = logits.expand({kRows, vocab}).contiguous();  // [rows, vocab]
  for (const Setting& setting : settings) {
    SamplingParams q;
    q.temperature = setting.temperature;
    q.top_p = setting.top_p;
    q.top_k = setting.top_k;
    std::vector<std::unique_ptr<SequenceSampler>> samplers;
    std::vector<SequenceSampler*> rows;
    for (int64_t i = 0; i < kRows; ++i) {
      q.seed = 100 + i;
      samplers.push_back(std::make_unique<SequenceSampler>(q, c10::kCPU, vocab, std::vector<int64_t>{}));
      rows.push_back(samplers.back().get());
    }
    std::printf("%lld rows, %s: %.3f ms a step\n", static_cast<long long>(kRows), setting.name,
                time([&] { sample_batch(batch, rows); }, 20));
    if (setting.top_k == 0 && setting.top_p < 1.0) {
      // Nearly flat logits (a random-weight model's): the nucleus is most of the vocabulary, which is sorted.
      const at::Tensor flat = at::randn({kRows, vocab}, gen) * 0.1;  // [rows, vocab]
      std::printf("%lld rows, %s, flat logits: %.3f ms a step\n", static_cast<long long>(kRows), setting.name,
                  time([&] { sample_batch(flat, rows); }, 5));
    }
  }
  return 0;
}
