#pragma once

#include <string>
#include <string_view>

namespace torchllm::tokenizer::hf {

// GPT-2's reversible mapping of the 256 byte values to printable characters (U+0021..U+0143), which ByteLevel
// pre-tokenizers and decoders use.

// Appends the byte-level spelling of `bytes` (each byte becomes one character).
void append_byte_level(std::string& out, std::string_view bytes);

// The byte that character `c` stands for, or -1 when `c` is not in the alphabet.
int byte_of_character(char32_t c);

}  // namespace torchllm::tokenizer::hf
