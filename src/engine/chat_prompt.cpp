#include "torchllm/chat_prompt.h"

namespace torchllm {

std::vector<TokenId> encode_chat_prompt(const Tokenizer& tokenizer, const std::string& rendered_prompt) {
  EncodeOptions options;
  options.add_special_tokens = false;
  return tokenizer.encode(rendered_prompt, options);
}

}  // namespace torchllm
