#include "tokenizer/unicode_text.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "tokenizer/utf8.h"
#include "torchllm/error.h"

namespace torchllm::tokenizer {
namespace {

bool is_ascii(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

std::string map_with_utf8proc(std::string_view text, int options) {
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t length = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                               static_cast<utf8proc_ssize_t>(text.size()), &mapped,
                                               static_cast<utf8proc_option_t>(options));
  if (length < 0) {
    throw Error::internal(std::string("Unicode normalization failed: ") + utf8proc_errmsg(length));
  }
  std::string out(reinterpret_cast<const char*>(mapped), static_cast<size_t>(length));
  std::free(mapped);
  return out;
}

// A character normalization leaves alone whatever surrounds it: a starter (combining class 0) that is no
// mark, has no decomposition (canonical, or any for the K forms) and cannot be the second half of a
// composition. Text is cut before such characters, so only the stretches around the others go through
// utf8proc.
bool is_stable(char32_t c, bool compatibility) {
  if (c < 0x80) return true;
  if ((c >= 0x1161 && c <= 0x1175) || (c >= 0x11A8 && c <= 0x11C2))
    return false;  // Hangul vowel and final jamo
  const utf8proc_property_t* p = utf8proc_get_property(static_cast<utf8proc_int32_t>(c));
  if (p->combining_class != 0) return false;
  if (p->category == UTF8PROC_CATEGORY_MN || p->category == UTF8PROC_CATEGORY_MC ||
      p->category == UTF8PROC_CATEGORY_ME) {
    return false;
  }
  if (c >= 0xAC00 && c <= 0xD7A3) return true;  // precomposed Hangul, already composed
  if (p->decomp_seqindex != UINT16_MAX && (compatibility || p->decomp_type == 0)) return false;
  return true;
}

std::string normalize(std::string_view text, int options, bool compatibility) {
  if (is_ascii(text)) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t copied = 0;          // text[0, copied) is in out
  size_t previous_start = 0;  // start of the character before `pos`
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    const char32_t c = next_code_point(text, pos);
    if (is_stable(c, compatibility)) {
      previous_start = start;
      continue;
    }
    // The stretch from the stable character before (it may compose with what follows) to the next stable one.
    const size_t window_start = std::max(copied, start > 0 ? previous_start : start);
    size_t window_end = pos;
    while (window_end < text.size()) {
      size_t next = window_end;
      if (is_stable(next_code_point(text, next), compatibility)) break;
      window_end = next;
    }
    out.append(text.substr(copied, window_start - copied));
    out += map_with_utf8proc(text.substr(window_start, window_end - window_start), options);
    copied = window_end;
    pos = window_end;
    previous_start = window_end;
  }
  out.append(text.substr(copied));
  return out;
}

}  // namespace

bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

bool is_numeric(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  const utf8proc_category_t category = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return category == UTF8PROC_CATEGORY_ND || category == UTF8PROC_CATEGORY_NL ||
         category == UTF8PROC_CATEGORY_NO;
}

bool is_punctuation(char32_t c) {
  if (c < 0x80) {
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
           (c >= 0x7B && c <= 0x7E);
  }
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return true;
    default:
      return false;
  }
}

bool is_word_character(char32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  if (c == 0x200C || c == 0x200D) return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

std::string to_nfc(std::string_view text) {
  return normalize(text, UTF8PROC_STABLE | UTF8PROC_COMPOSE, false);
}

std::string to_nfkc(std::string_view text) {
  return normalize(text, UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT, true);
}

std::string to_nfd(std::string_view text) {
  return is_ascii(text) ? std::string(text) : map_with_utf8proc(text, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
}

std::string to_nfkd(std::string_view text) {
  return is_ascii(text) ? std::string(text)
                        : map_with_utf8proc(text, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT);
}

std::string to_lowercase(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const char32_t c = next_code_point(text, pos);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
    } else if (c == 0x130) {
      // The one unconditional lowercase mapping to two characters (SpecialCasing.txt).
      out += "i\xCC\x87";
    } else {
      append_utf8(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
    }
  }
  return out;
}

}  // namespace torchllm::tokenizer
