#pragma once

// A conversation turned into the ids a model sees, as transformers' apply_chat_template(tokenize=True) does
// it.

#include <string>
#include <vector>

#include "torchllm/tokenizer.h"

namespace torchllm {

// Encodes a rendered chat template without the tokenizer's post-processor (add_special_tokens=False): the
// template writes every special token itself, so a template that writes BOS is not given a second one.
std::vector<TokenId> encode_chat_prompt(const Tokenizer& tokenizer, const std::string& rendered_prompt);

}  // namespace torchllm
