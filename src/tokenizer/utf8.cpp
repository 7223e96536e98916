#include "tokenizer/utf8.h"

namespace torchllm::tokenizer {
namespace {

// Length of the valid sequence starting at s[0] (at most `left` bytes available), or 0 when invalid; for an
// invalid sequence, `consumed` receives the length of its maximal subpart (the bytes one U+FFFD replaces).
size_t valid_sequence_length(const unsigned char* s, size_t left, size_t& consumed) {
  const unsigned char lead = s[0];
  consumed = 1;
  if (lead < 0x80) return 1;
  size_t needed;
  unsigned char lower = 0x80, upper = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    needed = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    needed = 2;
    if (lead == 0xE0) lower = 0xA0;
    if (lead == 0xED) upper = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    needed = 3;
    if (lead == 0xF0) lower = 0x90;
    if (lead == 0xF4) upper = 0x8F;
  } else {
    return 0;
  }
  for (size_t i = 1; i <= needed; ++i) {
    if (i >= left || s[i] < lower || s[i] > upper) return 0;
    lower = 0x80;
    upper = 0xBF;
    consumed = i + 1;
  }
  return needed + 1;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    if (s[i] < 0x80) {
      ++i;
      continue;
    }
    size_t consumed;
    const size_t len = valid_sequence_length(s + i, n - i, consumed);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string to_valid_utf8(std::string_view text) {
  if (is_valid_utf8(text)) return std::string(text);
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  std::string out;
  out.reserve(n + 16);
  size_t i = 0;
  while (i < n) {
    size_t consumed;
    const size_t len = valid_sequence_length(s + i, n - i, consumed);
    if (len == 0) {
      append_utf8(out, kReplacementCharacter);
      i += consumed;
    } else {
      out.append(text.data() + i, len);
      i += len;
    }
  }
  return out;
}

char32_t previous_code_point(std::string_view text, size_t end, size_t& start) {
  start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  size_t pos = start;
  return next_code_point(text, pos);
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace torchllm::tokenizer
