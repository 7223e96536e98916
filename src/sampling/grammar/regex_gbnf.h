#pragma once

#include <string>

#include "torchllm/grammar.h"

namespace torchllm::grammar {

// A JSON Schema `pattern` as a GBNF expression for the inside of a JSON string: the characters the regular
// expression matches, written as JSON writes them (a quote or backslash escaped, no control characters).
// Unanchored ends match anything, as JSON Schema's search semantics ask. Supports literals, escapes (\d \w \s
// and their negations, \. and the like), classes with ranges and ^, ., groups ((...) and (?:...)), |, and the
// quantifiers * + ? {m} {m,} {m,n} (a lazy ? after them is accepted and means the same here); anchors only at
// the ends. `char_rule` names the rule of one JSON string character. Throws Error(kUnsupported) for
// backreferences, lookaround and the like, Error(kInvalidArgument) for a malformed expression.
std::string regex_to_gbnf(const std::string& pattern, const std::string& char_rule);

using torchllm::gbnf_literal;

}  // namespace torchllm::grammar
