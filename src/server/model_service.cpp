#include "server/model_service.h"

#include <chrono>
#include <cstdio>
#include <iostream>

#include "server/api_error.h"
#include "server/grammar_cache.h"
#include "torchllm/error.h"
#include "torchllm/model_config.h"
#include "torchllm/scheduler.h"

namespace torchllm::server {
namespace {

std::string basename_of(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Changes whenever what answers a request changes: version, model, dtype, device, context.
std::string fingerprint_of(const std::string& text) {
  uint64_t hash = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ull;
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "fp_%010llx", static_cast<unsigned long long>(hash & 0xFFFFFFFFFFull));
  return buffer;
}

}  // namespace

ModelService::ModelService(const ServerOptions& options) {
  const std::string& dir = options.model_dir;
  name_ = options.served_model_name.empty() ? basename_of(dir) : options.served_model_name;
  created_ =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  tokenizer_ = load_tokenizer(dir);
  template_ = std::make_unique<ChatTemplate>(load_chat_template(dir));
  encoder_ = std::make_unique<ChatPromptEncoder>(*tokenizer_, *template_);
  tool_format_ = tool_format_of(template_->source());
  reasoning_ = template_->source().find("<think>") != std::string::npos;
  defaults_ = load_sampling_defaults(dir);
  model_ = Transformer::load(dir, options.load);
  const ModelConfig& config = model_->config();
  vocab_size_ = config.vocab_size;
  context_ = options.context > 0 ? options.context : std::min<int64_t>(config.max_position_embeddings, 4096);
  if (context_ < 2) throw Error::invalid_argument("--context must be at least 2");
  slots_ = options.parallel > 0 ? options.parallel
                                : default_parallel(kv_bytes_per_token(config, model_->dtype()), context_,
                                                   model_->device().is_cpu());
  fingerprint_ = fingerprint_of(std::string("torchllm 0.1.0|") + name_ + "|" + config.architecture + "|" +
                                c10::toString(model_->dtype()) + "|" + model_->device().str() + "|" +
                                std::to_string(context_));
  SchedulerOptions scheduler;
  scheduler.max_batch = slots_;
  scheduler.max_seq = context_;
  scheduler.prefill_chunk = options.prefill_chunk;
  EngineLoopOptions loop;
  loop.max_queue = options.max_queue;
  engine_ = std::make_unique<EngineLoop>(std::make_unique<Scheduler>(*model_, *tokenizer_, scheduler), loop);
}

ModelService::~ModelService() {
  if (engine_) engine_->stop(true);
  engine_.reset();
}

std::vector<TokenId> ModelService::encode_chat(const nlohmann::ordered_json& messages,
                                               const nlohmann::ordered_json& kwargs,
                                               bool add_generation_prompt,
                                               const nlohmann::ordered_json& tools) const {
  ChatRenderOptions render;
  render.add_generation_prompt = add_generation_prompt;
  render.kwargs = kwargs;
  render.tools = tools;
  try {
    return encoder_->encode(messages, render);
  } catch (const Error& e) {
    // raise_exception() in a template is how it refuses a conversation (e.g. roles out of order).
    throw ApiError::bad_request(std::string("the chat template refused the messages: ") + e.what(),
                                "messages");
  }
}

std::vector<TokenId> ModelService::encode_prompt(const CompletionPrompt& prompt) const {
  if (const auto* ids = std::get_if<std::vector<TokenId>>(&prompt)) {
    for (TokenId id : *ids) {
      if (id < 0 || id >= vocab_size_) {
        throw ApiError::bad_request("prompt token id " + std::to_string(id) + " is outside the vocabulary (" +
                                        std::to_string(vocab_size_) + " ids)",
                                    "prompt");
      }
    }
    return *ids;
  }
  return tokenizer_->encode(std::get<std::string>(prompt));
}

GenerationRequest ModelService::make_request(const CompletionCall& call, std::vector<TokenId> prompt,
                                             size_t choice) const {
  const bool chat = call.endpoint == Endpoint::kChat;
  const int64_t length = static_cast<int64_t>(prompt.size());
  if (length == 0) throw ApiError::bad_request("the prompt is empty", chat ? "messages" : "prompt");
  const int64_t wanted = length + call.max_tokens.value_or(1);
  if (length >= context_ || wanted > context_) {
    // vLLM's wording, which clients already know how to read.
    throw ApiError::bad_request(
        "This model's maximum context length is " + std::to_string(context_) +
            " tokens. However, you requested " + std::to_string(wanted) + " tokens (" +
            std::to_string(length) + " in the " + (chat ? "messages" : "prompt") + ", " +
            std::to_string(wanted - length) + " in the completion). Please reduce the length of the " +
            (chat ? "messages" : "prompt") + " or completion.",
        call.max_tokens && length < context_ ? "max_tokens" : (chat ? "messages" : "prompt"),
        "context_length_exceeded");
  }
  GenerationRequest request;
  request.prompt = std::move(prompt);
  request.sampling = sampling_params(call, defaults_, vocab_size_);
  // n > 1 with a seed: each choice its own stream, still reproducible.
  if (request.sampling.seed) *request.sampling.seed += choice % static_cast<size_t>(call.n);
  request.max_tokens = call.max_tokens;
  request.stop = call.stop;
  request.cancel = std::make_shared<std::atomic<bool>>(false);
  request.grammar = call.grammar;
  if (request.grammar && reasoning_ && chat && !call.grammar_covers_thought)
    request.grammar_after_thought = thought_tokens(request.prompt);
  return request;
}

ModelService::ThoughtInPrompt ModelService::thought_in_prompt(const std::vector<TokenId>& prompt) const {
  // The prompt's last tokens tell whether the template opened <think> for the model (and left it open), or
  // wrote a closed one (Qwen3 with enable_thinking false), so that the model answers at once.
  const size_t tail = std::min<size_t>(prompt.size(), 16);
  const std::string end = tokenizer_->decode(std::vector<TokenId>(prompt.end() - tail, prompt.end()), false);
  const size_t open = end.rfind("<think>"), close = end.rfind("</think>");
  if (open != std::string::npos && (close == std::string::npos || close < open))
    return ThoughtInPrompt::kOpen;
  if (close != std::string::npos) return ThoughtInPrompt::kClosed;
  return ThoughtInPrompt::kNone;
}

std::optional<ThoughtTokens> ModelService::thought_tokens(const std::vector<TokenId>& prompt) const {
  const std::optional<TokenId> open = tokenizer_->token_to_id("<think>");
  const std::optional<TokenId> close = tokenizer_->token_to_id("</think>");
  const ThoughtInPrompt thought = thought_in_prompt(prompt);
  if (!open || !close || thought == ThoughtInPrompt::kClosed) return std::nullopt;
  return ThoughtTokens{*open, *close, thought == ThoughtInPrompt::kOpen};
}

ReplyOptions ModelService::reply_options(const CompletionCall& call,
                                         const std::vector<TokenId>& prompt) const {
  ReplyOptions options;
  options.reasoning = reasoning_;
  if (reasoning_) options.starts_in_reasoning = thought_in_prompt(prompt) == ThoughtInPrompt::kOpen;
  if (!call.tools.is_null() && call.tool_choice != CompletionCall::ToolChoice::kNone)
    options.tools = tool_format_;
  options.stream_arguments = call.stream;
  return options;
}

std::shared_ptr<const Grammar> ModelService::tool_grammar(const CompletionCall& call) const {
  using Choice = CompletionCall::ToolChoice;
  if (call.tools.is_null() || (call.tool_choice != Choice::kRequired && call.tool_choice != Choice::kNamed))
    return nullptr;
  std::vector<ToolSpec> specs;
  for (const nlohmann::ordered_json& tool : call.tools) {
    const nlohmann::ordered_json& function = tool["function"];
    const std::string name = function["name"].get<std::string>();
    if (call.tool_choice == Choice::kNamed && name != call.tool_choice_name) continue;
    specs.push_back(
        {name, function.contains("parameters") ? function["parameters"] : nlohmann::ordered_json()});
  }
  try {
    return cached_grammar(tool_call_gbnf(tool_format_, specs, call.parallel_tool_calls));
  } catch (const Error& e) {
    throw ApiError::bad_request(std::string("a tool's parameters cannot constrain the reply: ") + e.what(),
                                "tools", "invalid_value");
  }
}

std::string ModelService::token_text(int64_t token) const {
  return tokenizer_->decode({static_cast<TokenId>(token)}, /*skip_special_tokens=*/false);
}

}  // namespace torchllm::server
