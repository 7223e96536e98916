#pragma once

// The tokenizer a GGUF file's tokenizer.ggml.* metadata describes, built the way llama.cpp's llama-vocab.cpp
// reads it: the metadata becomes the tokenizer.json that the Hugging Face pipeline (tokenizer/hf) runs.
//   gpt2   byte-level BPE from tokens + merges, the pre-tokenizer regexes llama.cpp uses for
//          tokenizer.ggml.pre (llama3 / llama-bpe, qwen2, default, gpt-2, smollm), ignore_merges for llama3
//   llama  SentencePiece-style BPE from tokens + scores (merges ranked by the merged token's score), byte
//          fallback <0xNN>, "▁" for spaces and a leading one (add_space_prefix)

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "torchllm/gguf.h"
#include "torchllm/tokenizer.h"

namespace torchllm::tokenizer {

// Throws Error(kUnsupported) for a tokenizer model or pre-tokenizer llama.cpp reads and torchllm does not
// (naming the supported ones), Error(kCorruptInput) for missing or inconsistent keys; `where` names the file.
nlohmann::json gguf_tokenizer_json(const GgufMetadata& metadata, const std::string& where);

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::string& path);

}  // namespace torchllm::tokenizer
