#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace torchllm::tokenizer::testing {

// A small byte-level BPE tokenizer.json (GPT-2 style: the 256 byte characters, a few merges, added tokens),
// for tests that need a whole tokenizer without a download. `added_tokens` and the components can be
// replaced.
nlohmann::json tiny_byte_level_tokenizer_json();

// A small SentencePiece-style one: Metaspace pre-tokenizer, byte fallback, <s> added by the template.
nlohmann::json tiny_metaspace_tokenizer_json();

// Writes `files` (name -> JSON) into a fresh directory under the build tree and returns its path.
std::string write_tokenizer_directory(const std::string& name,
                                      const std::vector<std::pair<std::string, nlohmann::json>>& files);

}  // namespace torchllm::tokenizer::testing
