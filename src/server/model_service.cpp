#include "server/model_service.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <utility>

#include "server/api_error.h"
#include "server/grammar_cache.h"
#include "torchllm/device.h"
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

// Bytes for the KV pool: --kv-cache-memory when given; on CUDA --gpu-memory-utilization of the device's
// memory less what is in use now that the weights are loaded (vLLM's rule: the rest of the fraction is the
// KV cache's, the rest of the device stays free for activations, CUDA graphs and other processes); on the
// CPU half of the available RAM, leaving the other half to activations and everything else on the machine.
uint64_t kv_cache_budget(const ServerOptions& options, const c10::Device& device) {
  if (options.kv_cache_memory > 0) return options.kv_cache_memory;
  if (device.is_cpu()) {
    if (const auto ram = available_ram_bytes()) return *ram / 2;
    throw Error::unsupported(
        "cannot read the available memory (/proc/meminfo) to size the KV cache; give its "
        "size with --kv-cache-memory (e.g. --kv-cache-memory 4GiB)");
  }
  if (device.is_cuda()) {
    const auto memory = device_memory(device);
    if (!memory) {
      throw Error::unsupported("cannot read " + device.str() +
                               "'s free memory to size the KV cache; give its size with --kv-cache-memory "
                               "(e.g. --kv-cache-memory 8GiB)");
    }
    const auto [free, total] = std::make_pair(memory->free, memory->total);
    const double allowed = options.gpu_memory_utilization * static_cast<double>(total);
    const double in_use = static_cast<double>(total - free);
    if (allowed <= in_use) {
      std::ostringstream fraction;
      fraction << options.gpu_memory_utilization;
      throw Error::exhausted(
          device.str() + " already uses " + std::to_string((total - free) >> 20) + " MiB of its " +
          std::to_string(total >> 20) + " MiB with the weights loaded, more than --gpu-memory-utilization " +
          fraction.str() +
          " allows, which leaves nothing for the KV cache: raise --gpu-memory-utilization, give "
          "--kv-cache-memory, or free the device");
    }
    return static_cast<uint64_t>(allowed - in_use);
  }
  // MPS and others report nothing; a fixed 4 GiB as before.
  return 4ull << 30;
}

// "512.0 MiB", "2.3 GiB".
std::string binary_size(uint64_t bytes) {
  char text[32];
  if (bytes < (1ull << 30)) {
    std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  } else {
    std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / (1 << 30));
  }
  return text;
}

}  // namespace

std::string ModelService::capacity() const {
  const SchedulerOptions& o = scheduler_options_;
  const int64_t tokens = o.kv_blocks * o.kv_block_size;
  return "up to " + std::to_string(slots_) + " sequences of " + std::to_string(context_) +
         " tokens, KV cache " + std::to_string(o.kv_blocks) + " blocks of " +
         std::to_string(o.kv_block_size) + " tokens (" + std::to_string(tokens) + " tokens, " +
         binary_size(static_cast<uint64_t>(tokens) * kv_bytes_per_token_) + ", " +
         kv_cache_type_name(model_->kv_cache_type(), model_->dtype()) + "), prefix caching " +
         (o.prefix_caching ? "on" : "off");
}

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
  if (options.parallel < 1) throw Error::invalid_argument("--parallel must be at least 1");
  slots_ = options.parallel;
  kv_bytes_per_token_ = model_->kv_bytes_per_token();
  fingerprint_ = fingerprint_of(std::string("torchllm 0.1.0|") + name_ + "|" + config.architecture + "|" +
                                c10::toString(model_->dtype()) + "|" + model_->device().str() + "|" +
                                std::to_string(context_));
  SchedulerOptions& scheduler = scheduler_options_;
  scheduler.max_batch = slots_;
  scheduler.max_seq = context_;
  scheduler.prefill_chunk = options.prefill_chunk;
  scheduler.kv_block_size = options.kv_block_size;
  scheduler.prefix_caching = options.prefix_caching;
  // Measured now, with the weights in memory and before the pool takes its share.
  scheduler.kv_blocks = kv_pool_blocks(kv_cache_budget(options, model_->device()), kv_bytes_per_token_,
                                       options.kv_block_size, slots_, context_);
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
