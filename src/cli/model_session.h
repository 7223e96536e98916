#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/model_options.h"
#include "torchllm/chat_template.h"
#include "torchllm/model.h"
#include "torchllm/tokenizer.h"

namespace torchllm::cli {

// A model ready to generate: weights (loaded with a progress bar on a terminal), tokenizer and chat template.
struct ModelSession {
  std::string model_dir;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<Transformer> model;
  // Set when loaded for chat: the model's template, or ChatML when it ships none.
  std::optional<ChatTemplate> chat_template;

  enum class Prompts { kRaw, kChat };
  // Tokenizer and template first (cheap, and their errors come before a long load), then the weights. For
  // kChat, a model without a chat template gets ChatML and one note on stderr, the same for `run`,
  // `run --chat` and `chat`.
  static ModelSession load(const ModelOptions& options, Prompts prompts);

  // messages: [{role, content}]; kwargs: extra template variables such as enable_thinking.
  std::vector<TokenId> encode_chat(
      const nlohmann::ordered_json& messages,
      const nlohmann::ordered_json& kwargs = nlohmann::ordered_json::object()) const;
  // Plain text with the tokenizer's own special tokens (BOS for Llama).
  std::vector<TokenId> encode_raw(const std::string& text) const;
};

}  // namespace torchllm::cli
