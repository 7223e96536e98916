#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/stop_matcher.h"
#include "torchllm/generation.h"
#include "torchllm/sampler.h"
#include "torchllm/scheduler.h"
#include "torchllm/tokenizer.h"

namespace torchllm {

// One generation inside the scheduler: its request, where its prompt stands, the text made of its tokens so
// far, and when it ends. Plain C++ apart from the sampler it owns.
class Sequence {
 public:
  using Clock = std::chrono::steady_clock;

  Sequence(Scheduler::SequenceId id, GenerationRequest request, GenerationCallbacks callbacks,
           const Tokenizer& tokenizer, int64_t max_seq);

  Scheduler::SequenceId id() const { return id_; }
  const GenerationRequest& request() const { return request_; }
  bool cancelled() const { return request_.cancel && request_.cancel->load(); }

  // Admission into KV slot `slot` whose blocks hold the K/V of `cached` leading tokens already. The sampler
  // is made at the first admission only (`sampler` may be null after a preemption).
  void admit(int64_t slot, int64_t cached, std::unique_ptr<SequenceSampler> sampler);
  // Back to the queue without its KV blocks (they were taken for others): its prompt and the tokens it has
  // generated are computed again at the next admission, and generation goes on where it stopped.
  void preempt();
  bool admitted_before() const { return sampler_ != nullptr; }
  int64_t slot() const { return slot_; }
  SequenceSampler& sampler() { return *sampler_; }

  // Every token so far: the prompt, then the generated ones.
  const std::vector<int64_t>& tokens() const { return tokens_; }
  // Leading tokens() whose K/V are in the sequence's blocks.
  int64_t computed_tokens() const { return kv_tokens_; }
  // The tokens the next forward pass computes for this sequence (a prompt chunk of at most `budget` tokens,
  // or the last sampled token) and the position of the first; empty once finished.
  std::vector<int64_t> next_input(int64_t budget, int64_t* start) const;
  // Records that next_input's tokens were computed; true when the pass also yields the next token's logits.
  bool computed(int64_t n);
  // Whether the next pass computes prompt tokens (or, after a preemption, tokens generated before it).
  bool prefilling() const { return kv_tokens_ < prefill_end_; }

  // Takes a sampled token: streams the text it completes and decides whether the generation ends.
  void accept(const SampledToken& token);
  void cancel();
  void fail(const std::string& message);
  bool finished() const { return finished_; }

 private:
  void deliver(std::string text, bool final);
  void finish(FinishReason reason);

  Scheduler::SequenceId id_;
  GenerationRequest request_;
  GenerationCallbacks callbacks_;
  const Tokenizer& tokenizer_;
  int64_t max_seq_;
  StreamDecoder decoder_;
  StopMatcher stop_;

  int64_t slot_ = -1;
  std::unique_ptr<SequenceSampler> sampler_;
  std::vector<int64_t> tokens_;  // the prompt, then the generated tokens
  int64_t prefill_end_ = 0;  // tokens_ computed as a prompt (chunks): the prompt, or all after a preemption
  int64_t kv_tokens_ = 0;    // leading tokens_ whose K/V are in the slot's blocks
  int64_t computed_prompt_ = 0;
  GenerationResult result_;
  std::vector<SampledToken> pending_;  // sampled since the last delta
  bool finished_ = false;

  Clock::time_point submitted_, admitted_, first_token_;
};

}  // namespace torchllm
