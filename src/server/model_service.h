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
#include "torchllm/scheduler.h"
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
  int64_t slots() const { return slots_; }  // most sequences running at once (--parallel)
  // "up to 64 sequences of 4096 tokens, KV cache 12345 blocks of 16 tokens (197520 tokens, 2.3 GiB), prefix
  // caching on", for the ready line.
  std::string capacity() const;
  int64_t created() const { return created_; }
  const std::string& fingerprint() const { return fingerprint_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  EngineLoop& engine() { return *engine_; }

  // The chat's messages through the template, special tokens in message text kept as text. Throws ApiError.
  std::vector<TokenId> encode_chat(const nlohmann::ordered_json& messages,
                                   const nlohmann::ordered_json& kwargs, bool add_generation_prompt = true,
                                   const nlohmann::ordered_json& tools = nullptr) const;

  // The tool-call format of the model's chat template, and whether it thinks in <think>...</think>.
  ToolFormat tool_format() const { return tool_format_; }
  bool reasoning() const { return reasoning_; }
  // How to split a reply to `prompt` (a chat prompt) of `call`: reasoning when the template thinks (already
  // inside <think> when the prompt opened it), tool calls when the call has tools and tool_choice is not
  // none.
  ReplyOptions reply_options(const CompletionCall& call, const std::vector<TokenId>& prompt) const;
  // The grammar of the reply when tool_choice is required or names a function: calls of the allowed tools in
  // the template's format (one unless parallel_tool_calls). Null for auto and none. Throws ApiError(400) for
  // a parameters schema the grammar cannot express.
  std::shared_ptr<const Grammar> tool_grammar(const CompletionCall& call) const;
  // A completion prompt as vLLM encodes it (the tokenizer's special tokens added, special text parsed).
  std::vector<TokenId> encode_prompt(const CompletionPrompt& prompt) const;

  // A generation of `prompt` for choice `choice` of `call`. Throws ApiError(400) when the prompt and
  // max_tokens do not fit the context or a sampling field is out of range.
  GenerationRequest make_request(const CompletionCall& call, std::vector<TokenId> prompt,
                                 size_t choice) const;

  // A token's text on its own (for logprobs).
  std::string token_text(int64_t token) const;

 private:
  enum class ThoughtInPrompt { kNone, kOpen, kClosed };
  // Whether the chat prompt's end opened a thought for the model, or closed one (thinking off), or neither.
  ThoughtInPrompt thought_in_prompt(const std::vector<TokenId>& prompt) const;
  // For a grammar on a thinking model's reply: its <think> and </think> tokens, so the grammar applies after
  // the thought; none when the prompt closed the thought already or the vocabulary lacks them.
  std::optional<ThoughtTokens> thought_tokens(const std::vector<TokenId>& prompt) const;

  std::string name_;
  int64_t context_ = 0;
  int64_t slots_ = 0;
  SchedulerOptions scheduler_options_;
  uint64_t kv_bytes_per_token_ = 0;
  int64_t created_ = 0;
  std::string fingerprint_;
  SamplingParams defaults_;
  ToolFormat tool_format_ = ToolFormat::kHermes;
  bool reasoning_ = false;
  int64_t vocab_size_ = 0;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<ChatTemplate> template_;
  std::unique_ptr<ChatPromptEncoder> encoder_;
  std::unique_ptr<Transformer> model_;
  // Last: it owns the scheduler, which uses the model and the tokenizer.
  std::unique_ptr<EngineLoop> engine_;
};

}  // namespace torchllm::server
