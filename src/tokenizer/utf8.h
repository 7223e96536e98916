#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace torchllm::tokenizer {

constexpr char32_t kReplacementCharacter = 0xFFFD;

bool is_valid_utf8(std::string_view text);

// Replaces each maximal invalid subsequence with U+FFFD, exactly as the WHATWG decoder (Node's
// Buffer.toString, Python's errors="replace", Rust's from_utf8_lossy) does.
std::string to_valid_utf8(std::string_view text);

// Length in bytes of the character starting with `lead` in valid UTF-8.
inline size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

// Decodes the character at text[pos] of valid UTF-8 and advances pos past it.
inline char32_t next_code_point(std::string_view text, size_t& pos) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data()) + pos;
  const unsigned char lead = s[0];
  if (lead < 0x80) {
    pos += 1;
    return lead;
  }
  if (lead < 0xE0) {
    pos += 2;
    return (char32_t(lead & 0x1F) << 6) | (s[1] & 0x3F);
  }
  if (lead < 0xF0) {
    pos += 3;
    return (char32_t(lead & 0x0F) << 12) | (char32_t(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
  }
  pos += 4;
  return (char32_t(lead & 0x07) << 18) | (char32_t(s[1] & 0x3F) << 12) | (char32_t(s[2] & 0x3F) << 6) |
         (s[3] & 0x3F);
}

// The code point that ends at text[end) (exclusive) of valid UTF-8; `start` receives its first byte.
char32_t previous_code_point(std::string_view text, size_t end, size_t& start);

void append_utf8(std::string& out, char32_t code_point);

inline std::string utf8_of(char32_t code_point) {
  std::string out;
  append_utf8(out, code_point);
  return out;
}

}  // namespace torchllm::tokenizer
