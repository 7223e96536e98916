#include "engine/sequence.h"

#include <algorithm>

namespace torchllm {
namespace {

double ms_between(Sequence::Clock::time_point a, Sequence::Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

Sequence::Sequence(Scheduler::SequenceId id, GenerationRequest request, GenerationCallbacks callbacks,
                   const Tokenizer& tokenizer, int64_t max_seq)
    : id_(id),
      request_(std::move(request)),
      callbacks_(std::move(callbacks)),
      tokenizer_(tokenizer),
      max_seq_(max_seq),
      decoder_(tokenizer, request_.skip_special_tokens),
      stop_(request_.stop),
      submitted_(Clock::now()) {
  result_.stats.prompt_tokens = static_cast<int64_t>(request_.prompt.size());
  tokens_.assign(request_.prompt.begin(), request_.prompt.end());
  prefill_end_ = static_cast<int64_t>(tokens_.size());
}

void Sequence::admit(int64_t slot, int64_t cached, std::unique_ptr<SequenceSampler> sampler) {
  slot_ = slot;
  kv_tokens_ = cached;
  if (!sampler_) {  // the first admission
    sampler_ = std::move(sampler);
    admitted_ = Clock::now();
    result_.stats.cached_prompt_tokens = cached;
    result_.stats.queue_ms = ms_between(submitted_, admitted_);
  }
}

void Sequence::preempt() {
  slot_ = -1;
  kv_tokens_ = 0;
  prefill_end_ = static_cast<int64_t>(tokens_.size());
}

std::vector<int64_t> Sequence::next_input(int64_t budget, int64_t* start) const {
  if (finished_) return {};
  if (prefilling()) {
    const int64_t n = std::min<int64_t>(budget, prefill_end_ - kv_tokens_);
    *start = kv_tokens_;
    return std::vector<int64_t>(tokens_.begin() + kv_tokens_, tokens_.begin() + kv_tokens_ + n);
  }
  *start = static_cast<int64_t>(tokens_.size()) - 1;
  return {tokens_.back()};
}

bool Sequence::computed(int64_t n) {
  const bool was_prefilling = prefilling();
  kv_tokens_ += n;
  if (!was_prefilling) return true;
  if (kv_tokens_ <= static_cast<int64_t>(request_.prompt.size())) computed_prompt_ += n;
  return !prefilling();
}

void Sequence::accept(const SampledToken& token) {
  if (token.token < 0) {  // this row alone could not be sampled (its grammar is stuck)
    fail(token.error);
    return;
  }
  const TokenId id = static_cast<TokenId>(token.token);
  const auto now = Clock::now();
  if (result_.tokens.empty()) first_token_ = now;
  result_.tokens.push_back(id);
  tokens_.push_back(id);
  result_.token_logprobs.push_back(token);
  pending_.push_back(token);

  const bool eos = !request_.ignore_eos && tokenizer_.special_tokens().is_eos(id);
  if (eos) {
    finish(FinishReason::kStop);
    return;
  }
  StopMatcher::Result text = stop_.push(decoder_.push(id));
  if (text.matched) {
    result_.stop_string = text.stop;
    deliver(std::move(text.emit), false);
    finish(FinishReason::kStop);
    return;
  }
  deliver(std::move(text.emit), false);
  if (sampler_ && sampler_->grammar() && sampler_->grammar()->finished()) {
    finish(FinishReason::kStop);
    return;
  }
  const int64_t generated = static_cast<int64_t>(result_.tokens.size());
  if ((request_.max_tokens && generated >= *request_.max_tokens) ||
      static_cast<int64_t>(request_.prompt.size()) + generated >= max_seq_) {
    finish(FinishReason::kLength);
  }
}

void Sequence::cancel() {
  if (!finished_) finish(FinishReason::kCancelled);
}

void Sequence::fail(const std::string& message) {
  if (finished_) return;
  finished_ = true;
  if (callbacks_.on_error) callbacks_.on_error(message);
}

void Sequence::deliver(std::string text, bool final) {
  if (text.empty() && !final) return;
  result_.text += text;
  if (callbacks_.on_delta && (!text.empty() || !pending_.empty())) {
    GenerationDelta delta{std::move(text), std::move(pending_)};
    callbacks_.on_delta(delta);
  }
  pending_.clear();
}

void Sequence::finish(FinishReason reason) {
  finished_ = true;
  std::string rest;
  if (!result_.stop_string) {
    // What the decoder and the stop matcher still hold: a stop string can still complete here.
    StopMatcher::Result text = stop_.push(decoder_.finish());
    if (text.matched) {
      result_.stop_string = text.stop;
      reason = FinishReason::kStop;
      rest = std::move(text.emit);
    } else {
      rest = text.emit + stop_.finish();
    }
  }
  deliver(std::move(rest), true);
  result_.finish_reason = reason;

  GenerationStats& stats = result_.stats;
  const auto end = Clock::now();
  stats.generated_tokens = static_cast<int64_t>(result_.tokens.size());
  if (!result_.tokens.empty()) {
    stats.ttft_ms = ms_between(admitted_, first_token_);
    if (stats.ttft_ms > 0) stats.prefill_tok_s = computed_prompt_ / (stats.ttft_ms / 1000.0);
    const double decode_ms = ms_between(first_token_, end);
    if (stats.generated_tokens > 1 && decode_ms > 0) {
      stats.decode_tok_s = (stats.generated_tokens - 1) / (decode_ms / 1000.0);
    }
  }
  if (callbacks_.on_finish) callbacks_.on_finish(result_);
}

}  // namespace torchllm
