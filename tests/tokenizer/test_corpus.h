#pragma once

#include <string>
#include <vector>

namespace torchllm::tokenizer::testing {

struct CorpusEntry {
  std::string category;
  std::string text;  // bytes; the "invalid_utf8" category is deliberately not valid UTF-8
};

// The deterministic test corpus (the same bytes on every machine and run): prose, code, JSON, CJK, RTL
// scripts, Devanagari, emoji, combining marks in NFC and NFD, digit runs, white-space runs, special tokens
// embedded in text, invalid UTF-8, and edge cases. Independent of any tokenizer, so goldens made elsewhere
// stay comparable.
std::vector<CorpusEntry> make_test_corpus();

// FNV-1a (64 bit) of the bytes as 16 lowercase hex digits: identifies a string or file in the goldens.
std::string fnv1a_hex(const std::string& bytes);

// Lowercase hex of the bytes, and back.
std::string to_hex(const std::string& bytes);
std::string from_hex(const std::string& hex);

}  // namespace torchllm::tokenizer::testing
