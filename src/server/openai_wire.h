#pragma once

// The OpenAI wire format in one place: chat / text completion requests parsed and validated (every field we
// do not implement is refused, naming it), and the JSON of responses and stream chunks. Fields that are
// extensions of ours (shared with vLLM) are marked as such.

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "server/reply_parser.h"
#include "server/tool_calls.h"
#include "torchllm/generation.h"
#include "torchllm/grammar.h"
#include "torchllm/sampler.h"
#include "torchllm/tokenizer.h"

namespace torchllm::server {

enum class Endpoint { kChat, kCompletion };

// A completion prompt: text, or token ids.
using CompletionPrompt = std::variant<std::string, std::vector<TokenId>>;

// The sampling fields a request set; the rest come from the model's defaults.
struct SamplingFields {
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> top_k;              // extension
  std::optional<double> min_p;               // extension
  std::optional<double> repetition_penalty;  // extension
  std::optional<double> presence_penalty;
  std::optional<double> frequency_penalty;
  std::map<int64_t, double> logit_bias;
  std::optional<uint64_t> seed;
};

struct CompletionCall {
  Endpoint endpoint = Endpoint::kChat;
  std::optional<std::string> model;  // none: the served model
  // Chat: messages as the chat template expects them (text parts joined, developer as system).
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json chat_template_kwargs = nlohmann::ordered_json::object();  // extension
  // Completions: one choice per prompt (times n).
  std::vector<CompletionPrompt> prompts;
  std::optional<int64_t> max_tokens;
  int64_t n = 1;
  std::vector<std::string> stop;
  SamplingFields sampling;
  bool logprobs = false;
  int64_t top_logprobs = 0;  // chat: top_logprobs; completions: the integer logprobs
  bool stream = false;
  bool include_usage = false;
  // Chat: the request's tools as given (for the chat template; null: none), tool_choice and
  // parallel_tool_calls.
  nlohmann::ordered_json tools;
  enum class ToolChoice { kAuto, kNone, kRequired, kNamed };
  ToolChoice tool_choice = ToolChoice::kAuto;
  std::string tool_choice_name;  // kNamed
  bool parallel_tool_calls = true;
  // response_format json_object / json_schema, or the `grammar` extension (llama-server's): the output's
  // grammar; null: free text.
  std::shared_ptr<const Grammar> grammar;
  // The `grammar` extension covers the whole reply, a thought included (as llama-server applies it); the
  // grammars of response_format and forced tool calls apply to the answer after a thinking model's thought.
  bool grammar_covers_thought = false;
};

// Throw ApiError (400) naming the first field that is malformed, out of range or not implemented.
// `ordered_body`, when given, is the same body with its objects' key order kept: JSON schemas and tools are
// taken from it, so that properties come in the order the client wrote them.
CompletionCall parse_chat_request(const nlohmann::json& body,
                                  const nlohmann::ordered_json* ordered_body = nullptr);
CompletionCall parse_completion_request(const nlohmann::json& body);

// The request's fields over the model's defaults. Throws ApiError(400) for values the sampler refuses.
SamplingParams sampling_params(const CompletionCall& call, const SamplingParams& defaults,
                               int64_t vocab_size);

// What is the same in every response and chunk of one request.
struct ResponseContext {
  Endpoint endpoint = Endpoint::kChat;
  std::string id;  // chatcmpl-... / cmpl-...
  int64_t created = 0;
  std::string model;
  std::string system_fingerprint;
};

// A random id with OpenAI's prefixes.
std::string make_completion_id(Endpoint endpoint);

// The text of one token for logprobs (as decoded alone).
using TokenText = std::function<std::string(int64_t token)>;

// Builds a choice's logprobs in the endpoint's shape from consecutive sampled tokens. text_offset
// (completions) counts bytes of the completion's text from its start.
class LogprobsBuilder {
 public:
  LogprobsBuilder(Endpoint endpoint, int64_t top, TokenText token_text);
  // The logprobs object for these tokens.
  nlohmann::json build(const std::vector<SampledToken>& tokens);

 private:
  Endpoint endpoint_;
  int64_t top_;
  TokenText token_text_;
  int64_t text_offset_ = 0;
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;  // of the prompt, taken from the prefix cache (prompt_tokens_details)
};
nlohmann::json usage_json(const Usage& usage);

// finish_reason as OpenAI names it: "stop", "length"; a cancelled generation reports "abort" (as vLLM).
std::string finish_reason_json(FinishReason reason);

struct ChoiceOutput {
  std::string text;
  std::string finish_reason;
  nlohmann::json logprobs;  // null when not asked for
  // Chat: the reply's reasoning (reasoning_content; empty: left out) and tool calls (content is null when
  // there are calls and no text).
  std::string reasoning;
  std::vector<ToolCall> tool_calls;
};

// chat.completion / text_completion.
nlohmann::json completion_response(const ResponseContext& context, const std::vector<ChoiceOutput>& choices,
                                   const Usage& usage);

// One chat.completion.chunk / text_completion chunk with one choice. `role` only on a choice's first chunk
// (chat); `finish_reason` only on its last. `with_usage_null`: every chunk carries "usage": null when the
// final usage chunk will follow (include_usage).
nlohmann::json stream_chunk(const ResponseContext& context, int64_t index,
                            const std::optional<std::string>& role, const std::string& text,
                            const nlohmann::json& logprobs, const std::optional<std::string>& finish_reason,
                            bool with_usage_null);
// Chat chunks for a piece of a parsed reply: reasoning_content and content in one chunk, then, per new tool
// call, one chunk with its index, id, type and name (arguments "") and one with its arguments, as OpenAI
// streams them. Empty when the delta is empty and there are no logprobs.
std::vector<nlohmann::json> reply_chunks(const ResponseContext& context, int64_t index,
                                         const ReplyDelta& delta, const nlohmann::json& logprobs,
                                         bool with_usage_null);
// The last chunk when include_usage is set: empty choices and the usage.
nlohmann::json usage_chunk(const ResponseContext& context, const Usage& usage);

}  // namespace torchllm::server
