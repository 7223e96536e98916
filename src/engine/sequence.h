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

  // Admission into a KV slot holding `reused` leading prompt tokens already.
  void admit(int64_t slot, int64_t reused, std::unique_ptr<SequenceSampler> sampler);
  int64_t slot() const { return slot_; }
  SequenceSampler& sampler() { return *sampler_; }

  // The tokens the next forward pass computes for this sequence (a prompt chunk of at most `budget` tokens,
  // or the last sampled token) and the position of the first; empty once finished.
  std::vector<int64_t> next_input(int64_t budget, int64_t* start) const;
  // Records that next_input's tokens were computed; true when the pass also yields the next token's logits.
  bool computed(int64_t n);
  bool prefilling() const { return prefilled_ < static_cast<int64_t>(request_.prompt.size()); }

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
  int64_t prefilled_ = 0;  // prompt tokens whose K/V are in the slot
  int64_t computed_prompt_ = 0;
  GenerationResult result_;
  std::vector<SampledToken> pending_;  // sampled since the last delta
  bool finished_ = false;

  Clock::time_point submitted_, admitted_, first_token_;
};

}  // namespace torchllm
