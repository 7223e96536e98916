#include "tokenizer/hf/unicode_categories.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cstdio>

namespace torchllm::tokenizer::hf {
namespace {

#include "tokenizer/hf/unicode_categories.inc"

std::string range_items(const UnicodeRange* ranges, size_t count) {
  std::string out;
  char buf[40];
  for (size_t i = 0; i < count; ++i) {
    const UnicodeRange& r = ranges[i];
    if (r.first == r.last) {
      std::snprintf(buf, sizeof(buf), "\\x{%X}", static_cast<unsigned>(r.first));
    } else {
      std::snprintf(buf, sizeof(buf), "\\x{%X}-\\x{%X}", static_cast<unsigned>(r.first),
                    static_cast<unsigned>(r.last));
    }
    out += buf;
  }
  return out;
}

bool pcre2_knows_delta_base() {
  static const bool knows = [] {
    char version[64] = {};
    if (pcre2_config(PCRE2_CONFIG_UNICODE_VERSION, version) < 0) return false;
    return std::string(version) == kUnicodeDeltaBaseVersion;
  }();
  return knows;
}

}  // namespace

const UnicodeCategory* find_unicode_category(std::string_view name) {
  for (const UnicodeCategory& category : kUnicodeCategories) {
    if (name == category.name) return &category;
  }
  return nullptr;
}

const char* unicode_category_version() { return kUnicodeCategoryVersion; }

std::string pcre2_range_items(const UnicodeCategory& category) {
  return range_items(category.ranges, category.count);
}

std::string pcre2_category_items(const UnicodeCategory& category) {
  if (!category.additive || !pcre2_knows_delta_base()) return pcre2_range_items(category);
  return "\\p{" + std::string(category.name) + "}" + range_items(category.added, category.added_count);
}

}  // namespace torchllm::tokenizer::hf
