#pragma once

// The served model: tokenizer, chat template, sampling defaults and the engine loop that owns the model. The
// HTTP threads use the read-only parts (encoding prompts, building requests); only the engine thread runs the
// model.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "server/openai_wire.h"
#include "torchllm/chat_prompt.h"
#include "torchllm/chat_template.h"
#include "torchllm/engine_loop.h"
#include "torchllm/model.h"
#include "torchllm/sampler.h"
#include "torchllm/server.h"
#include "torchllm/tokenizer.h"

namespace torchllm::server {

class ModelService {
 public:
  // Loads everything and starts the engine thread. Throws Error.
  explicit ModelService(const ServerOptions& options);
  ~ModelService();

  const std::string& name() const { return name_; }
  int64_t context() const { return context_; }
  int64_t slots() const { return slots_; }
  int64_t created() const { return created_; }
  const std::string& fingerprint() const { return fingerprint_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  EngineLoop& engine() { return *engine_; }

  // The chat's messages through the template, special tokens in message text kept as text. Throws ApiError.
  std::vector<TokenId> encode_chat(const nlohmann::ordered_json& messages,
                                   const nlohmann::ordered_json& kwargs,
                                   bool add_generation_prompt = true) const;
  // A completion prompt as vLLM encodes it (the tokenizer's special tokens added, special text parsed).
  std::vector<TokenId> encode_prompt(const CompletionPrompt& prompt) const;

  // A generation of `prompt` for choice `choice` of `call`. Throws ApiError(400) when the prompt and
  // max_tokens do not fit the context or a sampling field is out of range.
  GenerationRequest make_request(const CompletionCall& call, std::vector<TokenId> prompt,
                                 size_t choice) const;

  // A token's text on its own (for logprobs).
  std::string token_text(int64_t token) const;

 private:
  std::string name_;
  int64_t context_ = 0;
  int64_t slots_ = 0;
  int64_t created_ = 0;
  std::string fingerprint_;
  SamplingParams defaults_;
  int64_t vocab_size_ = 0;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<ChatTemplate> template_;
  std::unique_ptr<ChatPromptEncoder> encoder_;
  std::unique_ptr<Transformer> model_;
  // Last: it owns the scheduler, which uses the model and the tokenizer.
  std::unique_ptr<EngineLoop> engine_;
};

}  // namespace torchllm::server
