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
  int64_t token = 0;  // -1 when the row could not be sampled: `error` says why
  std::string error;
  float logprob = 0.0f;  // of the unmodified distribution (log_softmax of the raw logits); 0 unless asked
  std::vector<TokenLogprob> top;  // the top_logprobs most likely tokens of that distribution, best first
};

// The tokens that open and close a model's thought (<think> and </think> for Qwen3), for a grammar that
// applies to the answer after it.
struct ThoughtTokens {
  int64_t open = -1;
  int64_t close = -1;
  bool started = false;  // the prompt already opened the thought
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

  // Constrains this sequence's tokens to those `grammar` allows (sample_batch masks the others). With
  // `after_thought` the model may think first, as vLLM lets reasoning models do: the first token may also be
  // the thought's opening token, and a thought is free until its closing token, after which the grammar
  // applies; a reply that does not open a thought is constrained from its first token.
  void constrain(std::unique_ptr<GrammarMatcher> grammar, std::optional<ThoughtTokens> after_thought = {});
  // The grammar while it constrains the output (none while the model thinks, or before its first token when
  // it may still open a thought).
  const GrammarMatcher* grammar() const { return phase_ == GrammarPhase::kActive ? grammar_.get() : nullptr; }
  GrammarMatcher* grammar() { return phase_ == GrammarPhase::kActive ? grammar_.get() : nullptr; }
  // Whether this step's token is masked: fill_grammar_mask then writes the allowed tokens (1) into
  // mask[0, mask_size).
  bool constrained_now() const { return grammar_ && phase_ != GrammarPhase::kThinking; }
  void fill_grammar_mask(uint8_t* mask, int64_t mask_size);

 private:
  friend std::vector<SampledToken> sample_batch(const at::Tensor& logits,
                                                const std::vector<SequenceSampler*>& rows);
  SamplingParams params_;
  int64_t vocab_size_;
  at::Generator generator_;
  at::Tensor seen_;    // [vocab] bool: in the prompt or generated (repetition penalty)
  at::Tensor counts_;  // [vocab] float: times generated (presence / frequency penalties)
  std::unique_ptr<GrammarMatcher> grammar_;  // none: unconstrained
  enum class GrammarPhase { kActive, kFirstToken, kThinking };
  GrammarPhase phase_ = GrammarPhase::kActive;
  ThoughtTokens thought_;
  // Where seen_ and counts_ live and where sample_batch expects this row's logits. seen_ and counts_ are
  // allocated only when a penalty that reads them is on.
  c10::Device device_{c10::kCPU};
};

// logits: [rows, vocab] float32 on any device, rows[i] owns row i. Applies, per row and in this order: the
// grammar's mask (rows with a grammar only; a row whose grammar allows no token gets token -1 and an error,
// and the other rows are sampled as ever),
// logit_bias, repetition / presence / frequency penalties, temperature, top_k, top_p, min_p; then samples
// (argmax when temperature is 0) with the row's own generator. Records each sampled token in its sampler.
// Copies to the host only the sampled ids (and the logprobs asked for).
std::vector<SampledToken> sample_batch(const at::Tensor& logits, const std::vector<SequenceSampler*>& rows);

}  // namespace torchllm
