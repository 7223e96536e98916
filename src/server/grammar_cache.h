#pragma once

// Compiled grammars kept by their GBNF text, so that requests that repeat a schema or a tool list (an agent's
// every turn) share one grammar and with it the automaton states and token masks earlier requests built.

#include <memory>
#include <string>

#include "torchllm/grammar.h"

namespace torchllm::server {

// Grammar::from_gbnf(gbnf), or the grammar an earlier call made of the same text (the last 32 texts are
// kept). Thread-safe. Throws what Grammar::from_gbnf throws.
std::shared_ptr<const Grammar> cached_grammar(const std::string& gbnf);

}  // namespace torchllm::server
