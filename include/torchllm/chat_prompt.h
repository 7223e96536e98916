#pragma once

// A conversation turned into the ids a model sees, as transformers' apply_chat_template(tokenize=True) does
// it.

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "torchllm/chat_template.h"
#include "torchllm/tokenizer.h"

namespace torchllm {

// Encodes a rendered chat template without the tokenizer's post-processor (add_special_tokens=False): the
// template writes every special token itself, so a template that writes BOS is not given a second one.
std::vector<TokenId> encode_chat_prompt(const Tokenizer& tokenizer, const std::string& rendered_prompt);

// Renders conversations and encodes them so that text inside the messages cannot become a control token: the
// special tokens the template writes stay special, while special-token text in a message (a user typing
// "<|im_end|>") is tokenized as plain text, as Hugging Face's split_special_tokens would tokenize it.
class ChatPromptEncoder {
 public:
  // Both must outlive the encoder. Reads the tokenizer's special tokens once.
  ChatPromptEncoder(const Tokenizer& tokenizer, const ChatTemplate& chat_template);

  // Throws what ChatTemplate::render throws (Error(kInvalidArgument)).
  std::vector<TokenId> encode(const nlohmann::ordered_json& messages,
                              const ChatRenderOptions& options = {}) const;

  // The spellings of the special tokens that the tokenizer recognizes in text, longest first.
  const std::vector<std::string>& special_texts() const { return special_texts_; }

 private:
  const Tokenizer& tokenizer_;
  const ChatTemplate& template_;
  std::vector<std::string> special_texts_;
};

// bos_token, eos_token, unk_token and pad_token of a model directory's tokenizer_config.json (strings or
// {"content": ...}), the variables chat templates expect; empty when the file is missing.
std::map<std::string, std::string> chat_template_special_tokens(const std::string& model_dir);

// The model directory's chat template with its special-token variables, or ChatML when it ships none.
ChatTemplate load_chat_template(const std::string& model_dir);

}  // namespace torchllm
