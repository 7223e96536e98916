// Response side of the OpenAI wire format: completions, stream chunks, logprobs, usage.
#include <random>

#include "server/openai_wire.h"

namespace torchllm::server {
namespace {

using json = nlohmann::json;

json bytes_of(const std::string& text) {
  json bytes = json::array();
  for (unsigned char c : text) bytes.push_back(static_cast<int>(c));
  return bytes;
}

const char* object_name(Endpoint endpoint, bool chunk) {
  if (endpoint == Endpoint::kCompletion) return "text_completion";
  return chunk ? "chat.completion.chunk" : "chat.completion";
}

json envelope(const ResponseContext& context, bool chunk) {
  return {{"id", context.id},
          {"object", object_name(context.endpoint, chunk)},
          {"created", context.created},
          {"model", context.model},
          {"system_fingerprint", context.system_fingerprint}};
}

}  // namespace

std::string make_completion_id(Endpoint endpoint) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string id = endpoint == Endpoint::kChat ? "chatcmpl-" : "cmpl-";
  for (int i = 0; i < 29; ++i) id += kAlphabet[random() % (sizeof kAlphabet - 1)];
  return id;
}

LogprobsBuilder::LogprobsBuilder(Endpoint endpoint, int64_t top, TokenText token_text)
    : endpoint_(endpoint), top_(top), token_text_(std::move(token_text)) {}

json LogprobsBuilder::build(const std::vector<SampledToken>& tokens) {
  if (endpoint_ == Endpoint::kChat) {
    json content = json::array();
    for (const SampledToken& sampled : tokens) {
      const std::string text = token_text_(sampled.token);
      json top = json::array();
      for (size_t i = 0; i < sampled.top.size() && static_cast<int64_t>(i) < top_; ++i) {
        const std::string alternative = token_text_(sampled.top[i].token);
        top.push_back(
            {{"token", alternative}, {"logprob", sampled.top[i].logprob}, {"bytes", bytes_of(alternative)}});
      }
      content.push_back(
          {{"token", text}, {"logprob", sampled.logprob}, {"bytes", bytes_of(text)}, {"top_logprobs", top}});
    }
    return {{"content", content}, {"refusal", nullptr}};
  }
  // The legacy completions shape: parallel arrays, and a token -> logprob map per position that always holds
  // the sampled token (as vLLM does).
  json text_tokens = json::array(), token_logprobs = json::array(), top_logprobs = json::array(),
       offsets = json::array();
  for (const SampledToken& sampled : tokens) {
    const std::string text = token_text_(sampled.token);
    text_tokens.push_back(text);
    token_logprobs.push_back(sampled.logprob);
    json top = json::object();
    for (size_t i = 0; i < sampled.top.size() && static_cast<int64_t>(i) < top_; ++i) {
      top[token_text_(sampled.top[i].token)] = sampled.top[i].logprob;
    }
    if (!top.contains(text)) top[text] = sampled.logprob;
    top_logprobs.push_back(std::move(top));
    offsets.push_back(text_offset_);
    text_offset_ += static_cast<int64_t>(text.size());
  }
  return {{"tokens", text_tokens},
          {"token_logprobs", token_logprobs},
          {"top_logprobs", top_logprobs},
          {"text_offset", offsets}};
}

json usage_json(const Usage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", usage.cached_tokens}}}};
}

std::string finish_reason_json(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kCancelled:
      break;
  }
  return "abort";
}

json completion_response(const ResponseContext& context, const std::vector<ChoiceOutput>& choices,
                         const Usage& usage) {
  json out = envelope(context, false);
  json list = json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    const ChoiceOutput& choice = choices[i];
    json entry = {{"index", i}};
    if (context.endpoint == Endpoint::kChat) {
      json message = {
          {"role", "assistant"},
          {"content", choice.tool_calls.empty() || !choice.text.empty() ? json(choice.text) : json()},
          {"refusal", nullptr}};
      if (!choice.reasoning.empty()) message["reasoning_content"] = choice.reasoning;  // extension (vLLM)
      if (!choice.tool_calls.empty()) {
        json calls = json::array();
        for (const ToolCall& call : choice.tool_calls) {
          calls.push_back({{"id", call.id},
                           {"type", "function"},
                           {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
        }
        message["tool_calls"] = std::move(calls);
      }
      entry["message"] = std::move(message);
    } else {
      entry["text"] = choice.text;
    }
    entry["logprobs"] = choice.logprobs;
    entry["finish_reason"] = choice.finish_reason;
    list.push_back(std::move(entry));
  }
  out["choices"] = std::move(list);
  out["usage"] = usage_json(usage);
  return out;
}

json stream_chunk(const ResponseContext& context, int64_t index, const std::optional<std::string>& role,
                  const std::string& text, const json& logprobs,
                  const std::optional<std::string>& finish_reason, bool with_usage_null) {
  json out = envelope(context, true);
  json choice = {{"index", index}};
  if (context.endpoint == Endpoint::kChat) {
    json delta = json::object();
    if (role) delta["role"] = *role;
    // The last chunk's delta is empty, as OpenAI's is.
    if (role || !text.empty() || !finish_reason) delta["content"] = text;
    choice["delta"] = std::move(delta);
  } else {
    choice["text"] = text;
  }
  choice["logprobs"] = logprobs;
  choice["finish_reason"] = finish_reason ? json(*finish_reason) : json(nullptr);
  out["choices"] = json::array({std::move(choice)});
  if (with_usage_null) out["usage"] = nullptr;
  return out;
}

std::vector<json> reply_chunks(const ResponseContext& context, int64_t index, const ReplyDelta& delta,
                               const json& logprobs, bool with_usage_null) {
  std::vector<json> chunks;
  auto chunk = [&](json d, const json& lp) {
    json out = envelope(context, true);
    out["choices"] = json::array(
        {{{"index", index}, {"delta", std::move(d)}, {"logprobs", lp}, {"finish_reason", nullptr}}});
    if (with_usage_null) out["usage"] = nullptr;
    chunks.push_back(std::move(out));
  };
  if (!delta.reasoning.empty() || !delta.content.empty() || !logprobs.is_null()) {
    json d = json::object();
    if (!delta.reasoning.empty()) d["reasoning_content"] = delta.reasoning;  // extension (vLLM)
    if (!delta.content.empty() || delta.reasoning.empty()) d["content"] = delta.content;
    chunk(std::move(d), logprobs);
  }
  for (const ToolCallDelta& call : delta.tool_calls) {
    if (call.id) {  // a call's first chunk: id, type and name, as OpenAI sends them
      json first = {{"index", call.index}, {"id", *call.id}, {"type", "function"}};
      first["function"] = {{"name", call.name.value_or("")}, {"arguments", ""}};
      chunk({{"tool_calls", json::array({first})}}, nullptr);
    }
    if (!call.arguments.empty()) {
      chunk({{"tool_calls",
              json::array({{{"index", call.index}, {"function", {{"arguments", call.arguments}}}}})}},
            nullptr);
    }
  }
  return chunks;
}

json usage_chunk(const ResponseContext& context, const Usage& usage) {
  json out = envelope(context, true);
  out["choices"] = json::array();
  out["usage"] = usage_json(usage);
  return out;
}

}  // namespace torchllm::server
