#pragma once

// What a generation is asked to do and what it reports: shared by the single-stream Generator (CLI) and the
// continuous-batching Scheduler (server).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "torchllm/grammar.h"
#include "torchllm/sampler.h"
#include "torchllm/tokenizer.h"

namespace torchllm {

struct GenerationRequest {
  std::vector<TokenId> prompt;  // must not be empty
  SamplingParams sampling;
  std::optional<int64_t> max_tokens;  // none: until an end-of-sequence token or the context is full
  // Text that ends the generation; matched on the decoded text across token boundaries and not emitted.
  std::vector<std::string> stop;
  bool ignore_eos = false;
  bool skip_special_tokens = true;  // in the text; the token ids are always reported
  // Set from any thread to stop the generation at the next step (finish reason kCancelled).
  std::shared_ptr<std::atomic<bool>> cancel;
  // Constrains the output to this grammar; the generation ends (kStop) once the grammar is complete and
  // nothing more can follow, or with an end-of-sequence token where it may end. None: unconstrained.
  std::shared_ptr<const Grammar> grammar;
  // For a model that may think first: the grammar applies after the thought (SequenceSampler::constrain).
  std::optional<ThoughtTokens> grammar_after_thought;
};

enum class FinishReason { kStop, kLength, kCancelled };
// "stop", "length", "cancelled"
const char* finish_reason_name(FinishReason reason);

struct GenerationStats {
  int64_t prompt_tokens = 0;
  int64_t cached_prompt_tokens = 0;  // prompt tokens whose K/V were reused from an earlier generation
  int64_t generated_tokens = 0;
  double queue_ms = 0;       // submitted -> admitted into a KV slot
  double ttft_ms = 0;        // admitted -> first token sampled (the prefill)
  double prefill_tok_s = 0;  // prompt tokens actually computed / prefill time
  double decode_tok_s = 0;   // tokens after the first / time after the first
};

// A piece of a streamed generation: new text (possibly empty: incomplete UTF-8, or text held back while it
// may still become a stop string) and the tokens sampled since the previous delta.
struct GenerationDelta {
  std::string text;
  std::vector<SampledToken> tokens;
};

struct GenerationResult {
  std::string text;             // without the stop string
  std::vector<TokenId> tokens;  // every sampled token, including an end-of-sequence token or a stop string's
  std::vector<SampledToken> token_logprobs;  // parallel to tokens
  FinishReason finish_reason = FinishReason::kStop;
  std::optional<std::string> stop_string;  // which stop string ended it
  GenerationStats stats;
};

}  // namespace torchllm
