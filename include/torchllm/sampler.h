#pragma once

// Choosing the next token from logits: per-sequence sampling parameters, their state (seeded generator, token
// counts for the penalties), and one batched call that samples every row of a decode batch on the logits'
// device.

#include <ATen/Tensor.h>
#include <ATen/core/Generator.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "torchllm/grammar.h"

namespace torchllm {

struct SamplingParams {
  double temperature = 1.0;  // 0: greedy (argmax)
  int64_t top_k = 0;         // 0: off
  double top_p = 1.0;        // 1: off
  double min_p = 0.0;        // 0: off
  // Hugging Face / CTRL style, over the prompt and the generated tokens: logit / p when positive, * p
  // otherwise.
  double repetition_penalty = 1.0;
  // OpenAI style, over the generated tokens only: logit -= presence * (count > 0) + frequency * count.
  double presence_penalty = 0.0;
  double frequency_penalty = 0.0;
  std::map<int64_t, double> logit_bias;  // token id -> added to the logit (OpenAI: -100..100)
  std::optional<uint64_t> seed;          // none: drawn from std::random_device
  bool logprobs = false;                 // report the sampled token's log-probability
  int64_t top_logprobs = 0;              // 0..20 most likely alternatives per position (needs logprobs)

  // Throws Error(kInvalidArgument) naming the field and its allowed range: temperature in [0, 100], top_k >=
  // 0, top_p in (0, 1], min_p in [0, 1], repetition_penalty in (0, 100], presence/frequency in [-2, 2],
  // logit_bias ids in [0, vocab_size) with values in [-100, 100], top_logprobs in [0, 20].
  void validate(int64_t vocab_size) const;
};

// Defaults a model asks for in its generation_config.json (do_sample=false means greedy; temperature, top_k,
// top_p, min_p, repetition_penalty where set), on top of OpenAI's defaults (temperature 1, everything else
// off). A directory without the file gives OpenAI's defaults; a malformed file is Error(kCorruptInput).
SamplingParams load_sampling_defaults(const std::string& model_dir);

struct TokenLogprob {
  int64_t token = 0;
  float logprob = 0.0f;
};

struct SampledToken {
  int64_t token = 0;
  float logprob = 0.0f;  // of the unmodified distribution (log_softmax of the raw logits); 0 unless asked
  std::vector<TokenLogprob> top;  // the top_logprobs most likely tokens of that distribution, best first
};

// One sequence's sampling state: its parameters, its generator (seeded from params.seed) and the token
// statistics the penalties need, kept on `device` so that sampling needs no host round trip.
class SequenceSampler {
 public:
  // `prompt` feeds the repetition penalty. Validates params against vocab_size.
  SequenceSampler(const SamplingParams& params, c10::Device device, int64_t vocab_size,
                  const std::vector<int64_t>& prompt);

  const SamplingParams& params() const { return params_; }
  // Records a generated token (sample_batch does this for the tokens it samples); a grammar advances by it.
  void record(int64_t token);

  // Constrains this sequence's tokens to those `grammar` allows (sample_batch masks the others).
  void constrain(std::unique_ptr<GrammarMatcher> grammar) { grammar_ = std::move(grammar); }
  const GrammarMatcher* grammar() const { return grammar_.get(); }
  GrammarMatcher* grammar() { return grammar_.get(); }

 private:
  friend std::vector<SampledToken> sample_batch(const at::Tensor& logits,
                                                const std::vector<SequenceSampler*>& rows);
  SamplingParams params_;
  int64_t vocab_size_;
  at::Generator generator_;
  at::Tensor seen_;    // [vocab] bool: in the prompt or generated (repetition penalty)
  at::Tensor counts_;  // [vocab] float: times generated (presence / frequency penalties)
  std::unique_ptr<GrammarMatcher> grammar_;  // none: unconstrained
  // Where seen_ and counts_ live and where sample_batch expects this row's logits. seen_ and counts_ are
  // allocated only when a penalty that reads them is on.
  c10::Device device_{c10::kCPU};
};

// logits: [rows, vocab] float32 on any device, rows[i] owns row i. Applies, per row and in this order: the
// grammar's mask (rows with a grammar only; a row whose grammar allows no token is Error(kInvalidArgument)),
// logit_bias, repetition / presence / frequency penalties, temperature, top_k, top_p, min_p; then samples
// (argmax when temperature is 0) with the row's own generator. Records each sampled token in its sampler.
// Copies to the host only the sampled ids (and the logprobs asked for).
std::vector<SampledToken> sample_batch(const at::Tensor& logits, const std::vector<SequenceSampler*>& rows);

}  // namespace torchllm
