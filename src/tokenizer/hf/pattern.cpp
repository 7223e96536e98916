#include "tokenizer/hf/pattern.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <nlohmann/json.hpp>

#include "tokenizer/hf/unicode_categories.h"
#include "tokenizer/utf8.h"
#include "torchllm/error.h"

namespace torchllm::tokenizer::hf {
namespace {

// Oniguruma's \s is the White_Space property; PCRE2's (UCP) also takes U+180E.
constexpr const char* kSpaceClass =
    "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}"
    "\\x{3000}";
// Oniguruma's \h is a hexadecimal digit, PCRE2's a horizontal space.
constexpr const char* kHexClass = "0-9a-fA-F";

std::string category_items(const char* name) { return pcre2_category_items(*find_unicode_category(name)); }

// Oniguruma's \w is Unicode's Word: letters, marks, Nd, Nl, Pc, joiners; PCRE2 10.42's is L, N and '_'.
const std::string& word_class_items() {
  static const std::string items = category_items("L") + category_items("M") + category_items("Nd") +
                                   category_items("Nl") + category_items("Pc") + "\\x{200C}\\x{200D}";
  return items;
}

// The class items a backslash escape stands for, with `negated` set for \S, \P{L}, \p{^L}...; empty when the
// escape is not a class we spell out. `length` is the escape's length after the backslash.
std::string escape_class_items(const std::string& pattern, size_t at, size_t& length, bool& negated) {
  const char c = pattern[at];
  length = 1;
  negated = c == 'S' || c == 'W' || c == 'H' || c == 'D' || c == 'P';
  if (c == 's' || c == 'S') return kSpaceClass;
  if (c == 'w' || c == 'W') return word_class_items();
  if (c == 'h' || c == 'H') return kHexClass;
  if (c == 'd' || c == 'D') return category_items("Nd");  // Oniguruma's \d with Unicode is \p{Nd}
  if ((c == 'p' || c == 'P') && at + 1 < pattern.size() && pattern[at + 1] == '{') {
    const size_t close = pattern.find('}', at + 2);
    if (close == std::string::npos) return "";
    std::string_view name(pattern.data() + at + 2, close - at - 2);
    if (!name.empty() && name[0] == '^') {
      negated = !negated;
      name.remove_prefix(1);
    }
    const UnicodeCategory* category = find_unicode_category(name);
    if (category == nullptr) return "";  // a script or another property: PCRE2's own meaning
    length = close - at + 1;
    return pcre2_category_items(*category);
  }
  return "";
}

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

// Per-thread JIT stack and match data: PCRE2 lets compiled code be shared, not these.
struct MatchScratch {
  pcre2_jit_stack* jit_stack = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_match_data* data = nullptr;

  MatchScratch() {
    jit_stack = pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, nullptr);
    context = pcre2_match_context_create(nullptr);
    pcre2_jit_stack_assign(context, nullptr, jit_stack);
    data = pcre2_match_data_create(32, nullptr);
  }
  ~MatchScratch() {
    pcre2_match_data_free(data);
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(jit_stack);
  }
  MatchScratch(const MatchScratch&) = delete;
  MatchScratch& operator=(const MatchScratch&) = delete;
};

MatchScratch& scratch() {
  thread_local MatchScratch instance;
  return instance;
}

}  // namespace

class CompiledRegex {
 public:
  explicit CompiledRegex(const std::string& oniguruma_pattern) : source_(oniguruma_pattern) {
    const std::string translated = oniguruma_to_pcre2(oniguruma_pattern);
    int error = 0;
    PCRE2_SIZE offset = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                          PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
    if (code_ == nullptr) {
      throw Error::unsupported("regex '" + oniguruma_pattern + "' does not compile with PCRE2 (" +
                               pcre2_message(error) + " at offset " + std::to_string(offset) + ")");
    }
    pcre2_jit_compile(code_,
                      PCRE2_JIT_COMPLETE);  // without JIT (unsupported CPU) the interpreter still works
  }
  ~CompiledRegex() { pcre2_code_free(code_); }
  CompiledRegex(const CompiledRegex&) = delete;
  CompiledRegex& operator=(const CompiledRegex&) = delete;

  // Calls on_match(start, end, ovector, pairs) for each match, iterating as the Rust onig crate's find_iter
  // does.
  template <class OnMatch>
  void for_each_match(std::string_view text, OnMatch&& on_match) const {
    MatchScratch& s = scratch();
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    size_t search_from = 0;
    bool has_last_end = false;
    size_t last_end = 0;
    while (search_from <= text.size()) {
      const int rc =
          pcre2_match(code_, subject, text.size(), search_from, PCRE2_NO_UTF_CHECK, s.data, s.context);
      if (rc == PCRE2_ERROR_NOMATCH) return;
      if (rc < 0) {
        throw Error::exhausted("regex '" + source_ + "' failed on a " + std::to_string(text.size()) +
                               "-byte text: " + pcre2_message(rc));
      }
      const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(s.data);
      const size_t start = ovector[0], end = ovector[1];
      if (start == end && has_last_end && last_end == end) {
        if (search_from >= text.size()) return;
        search_from += utf8_length(static_cast<unsigned char>(text[search_from]));
        continue;
      }
      on_match(start, end, ovector, rc == 0 ? 1 : rc);
      has_last_end = true;
      last_end = end;
      search_from = end;
    }
  }

 private:
  std::string source_;
  pcre2_code* code_ = nullptr;
};

std::string oniguruma_to_pcre2(const std::string& pattern) {
  std::string out;
  out.reserve(pattern.size() + 64);
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      size_t length = 1;
      bool negated = false;
      const std::string items = escape_class_items(pattern, i + 1, length, negated);
      if (!items.empty() && !in_class) {
        out += negated ? "[^" : "[";
        out += items;
        out += "]";
      } else if (!items.empty() && !negated) {
        out += items;
      } else {
        // A negated class inside [...] cannot be spelled out; PCRE2's own meaning is the closest.
        out.append(pattern, i, length + 1);
      }
      i += length;
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

Pattern Pattern::literal(std::string text) {
  Pattern p;
  p.literal_ = std::move(text);
  return p;
}

Pattern Pattern::regex(const std::string& oniguruma_pattern) {
  Pattern p;
  p.regex_ = std::make_shared<const CompiledRegex>(oniguruma_pattern);
  return p;
}

Pattern Pattern::from_json(const nlohmann::json& pattern, const std::string& what) {
  if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string()) {
    return literal(pattern["String"].get<std::string>());
  }
  if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string()) {
    return regex(pattern["Regex"].get<std::string>());
  }
  throw Error::corrupt(what + ": pattern must be {\"String\": ...} or {\"Regex\": ...}, got " +
                       pattern.dump());
}

void Pattern::for_each_span(std::string_view text, SpanSink sink) const {
  size_t previous = 0;
  auto add_match = [&](size_t start, size_t end) {
    if (previous != start) sink(MatchSpan{previous, start, false});
    sink(MatchSpan{start, end, true});
    previous = end;
  };
  if (regex_) {
    regex_->for_each_match(text,
                           [&](size_t start, size_t end, const size_t*, int) { add_match(start, end); });
  } else if (!literal_.empty()) {
    for (size_t at = text.find(literal_); at != std::string_view::npos;
         at = text.find(literal_, at + literal_.size())) {
      add_match(at, at + literal_.size());
    }
  }
  if (previous != text.size()) sink(MatchSpan{previous, text.size(), false});
}

std::vector<MatchSpan> Pattern::find_spans(std::string_view text) const {
  std::vector<MatchSpan> spans;
  auto add = [&](const MatchSpan& span) { spans.push_back(span); };
  for_each_span(text, add);
  return spans;
}

namespace {

// Rust regex's replacement syntax: $N, ${N}, $$ (named groups are not supported by tokenizer.json producers).
void append_expansion(std::string& out, std::string_view text, const std::string& content,
                      const size_t* ovector, int pairs) {
  for (size_t i = 0; i < content.size(); ++i) {
    if (content[i] != '$' || i + 1 >= content.size()) {
      out += content[i];
      continue;
    }
    if (content[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    size_t j = i + 1;
    const bool braced = content[j] == '{';
    if (braced) ++j;
    size_t group = 0;
    const size_t digits_start = j;
    while (j < content.size() && content[j] >= '0' && content[j] <= '9')
      group = group * 10 + (content[j++] - '0');
    if (j == digits_start || (braced && (j >= content.size() || content[j] != '}'))) {
      out += content[i];
      continue;
    }
    if (braced) ++j;
    if (static_cast<int>(group) < pairs && ovector[2 * group] != PCRE2_UNSET) {
      out.append(text.substr(ovector[2 * group], ovector[2 * group + 1] - ovector[2 * group]));
    }
    i = j - 1;
  }
}

}  // namespace

std::string Pattern::replace_all(std::string_view text, const std::string& content) const {
  std::string out;
  size_t previous = 0;
  if (regex_) {
    regex_->for_each_match(text, [&](size_t start, size_t end, const size_t* ovector, int pairs) {
      out.append(text.substr(previous, start - previous));
      append_expansion(out, text, content, ovector, pairs);
      previous = end;
    });
  } else if (!literal_.empty()) {
    for (size_t at = text.find(literal_); at != std::string_view::npos;
         at = text.find(literal_, at + literal_.size())) {
      out.append(text.substr(previous, at - previous));
      out += content;
      previous = at + literal_.size();
    }
  }
  out.append(text.substr(previous));
  return out;
}

}  // namespace torchllm::tokenizer::hf
