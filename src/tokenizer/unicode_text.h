#pragma once

#include <string>
#include <string_view>

namespace torchllm::tokenizer {

// Unicode properties with the meaning Hugging Face tokenizers gives them (Rust's char methods and regex
// classes).

// The White_Space property (Rust's char::is_whitespace, Oniguruma's \s).
bool is_white_space(char32_t c);
// General category N* (Rust's char::is_numeric).
bool is_numeric(char32_t c);
// ASCII punctuation or general category P* (tokenizers' Punctuation pre-tokenizer).
bool is_punctuation(char32_t c);
// Rust regex's \w: letters, marks, decimal digits, letter numbers, connector punctuation, ZWJ/ZWNJ.
bool is_word_character(char32_t c);

// Normalization forms of valid UTF-8 (utf8proc).
std::string to_nfc(std::string_view text);
std::string to_nfkc(std::string_view text);
std::string to_nfd(std::string_view text);
std::string to_nfkd(std::string_view text);
// Full lowercase mapping of each character (Rust's char::to_lowercase).
std::string to_lowercase(std::string_view text);

}  // namespace torchllm::tokenizer
