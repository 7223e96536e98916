#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/hf/text_piece.h"

namespace torchllm::tokenizer::hf {

class CompiledRegex;

// A tokenizer.json pattern, {"String": literal} or {"Regex": Oniguruma pattern}, matched with PCRE2 (UTF,
// UCP, JIT). Where Oniguruma and PCRE2 disagree on a class (\s, \w, \h) the pattern is rewritten to
// Oniguruma's meaning.
class Pattern {
 public:
  static Pattern literal(std::string text);
  static Pattern regex(const std::string& oniguruma_pattern);
  // `what` names the component for error messages.
  static Pattern from_json(const nlohmann::json& pattern, const std::string& what);

  // Matches and the stretches between them, covering `text` (tokenizers' Pattern::find_matches): leftmost,
  // non-overlapping, an empty match right after the previous match skipped. `text` must be valid UTF-8.
  void for_each_span(std::string_view text, SpanSink sink) const;
  std::vector<MatchSpan> find_spans(std::string_view text) const;

  // Every match replaced by `content`; for a regex, $N / ${N} in `content` stand for capture groups.
  std::string replace_all(std::string_view text, const std::string& content) const;

 private:
  std::string literal_;
  std::shared_ptr<const CompiledRegex> regex_;
};

// The Oniguruma pattern rewritten so that PCRE2 gives its classes Oniguruma's meaning (exposed for tests).
std::string oniguruma_to_pcre2(const std::string& pattern);

}  // namespace torchllm::tokenizer::hf
