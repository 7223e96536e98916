#pragma once

// The tokenizer of a Hugging Face model directory as llama.cpp's tokenizer.* GGUF metadata, the keys
// convert_hf_to_gguf.py writes for a byte-level BPE tokenizer.json (tokenizer.ggml.model "gpt2").

#include <cstdint>
#include <string>

#include "torchllm/gguf_writer.h"

namespace torchllm::tokenizer {

// llama.cpp's tokenizer.ggml.pre for a tokenizer.json. The converter hashes what the real tokenizer makes
// of a test text, which needs Hugging Face transformers; here the pre-tokenizer's split regex decides when it
// is one llama.cpp knows (Qwen2's -> "qwen2", Llama 3's -> "llama-bpe", GPT-2's byte-level regex ->
// "gpt-2"), otherwise `model_type` (qwen2, qwen3 -> "qwen2"; gpt2 -> "gpt-2"; anything else "default").
std::string gguf_pre_tokenizer_name(const std::string& tokenizer_json_text, const std::string& model_type);

// Adds tokenizer.ggml.{model, pre, tokens, token_type, merges}, the bos/eos/unk/pad ids, add_bos_token /
// add_eos_token and tokenizer.chat_template from `model_dir`'s tokenizer.json, tokenizer_config.json,
// chat_template.jinja, config.json and generation_config.json. `vocab_size`: the embedding's rows, which
// the token list is padded to as the converter pads it ("[PAD<id>]"). Throws Error(kNotFound) without a
// tokenizer.json, Error(kUnsupported) for a SentencePiece or non-BPE tokenizer.
void add_gguf_vocabulary(GgufWriter& writer, const std::string& model_dir, const std::string& model_type,
                         int64_t vocab_size);

}  // namespace torchllm::tokenizer
