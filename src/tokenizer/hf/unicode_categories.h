#pragma once

// Unicode General_Category tables (generated, see tools/make_unicode_tables.mjs) as new as the Unicode
// version Hugging Face tokenizers' Oniguruma knows, so that \p{...} in tokenizer.json regexes does not depend
// on the Unicode version of the system's PCRE2.

#include <cstddef>
#include <string>
#include <string_view>

namespace torchllm::tokenizer::hf {

struct UnicodeRange {
  char32_t first, last;  // inclusive
};

struct UnicodeCategory {
  const char* name;  // "L", "Lu", ...
  const UnicodeRange* ranges;
  size_t count;
  const UnicodeRange* added;  // assigned to the category since the delta base version (see the .inc)
  size_t added_count;
  bool additive;  // nothing left the category since the delta base version
};

// The category of a one- or two-letter General_Category name, or nullptr.
const UnicodeCategory* find_unicode_category(std::string_view name);

// The Unicode version of the tables, e.g. "16.0.0".
const char* unicode_category_version();

// PCRE2 class items (no brackets) for the category. When the linked PCRE2 knows the delta base version and
// the category only grew since, PCRE2's own \p{X} plus the added ranges (fast); otherwise every range.
std::string pcre2_category_items(const UnicodeCategory& category);
// The same, always as every range (for tests).
std::string pcre2_range_items(const UnicodeCategory& category);

}  // namespace torchllm::tokenizer::hf
