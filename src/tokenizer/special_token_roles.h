#pragma once

#include <string>

#include "torchllm/tokenizer.h"

namespace torchllm::tokenizer {

// The special-token roles for a tokenizer loaded from `directory`: the token names of tokenizer_config.json,
// then the ids of generation_config.json, then those of config.json; files that are absent are skipped. EOS
// collects the ids of all three (generation stops on any of them).
SpecialTokenRoles read_special_token_roles(const std::string& directory, const Tokenizer& tokenizer);

}  // namespace torchllm::tokenizer
