#include "sampling/grammar/automaton.h"

#include <algorithm>

#include "torchllm/error.h"

namespace torchllm::grammar {
namespace {

// Rule calls nested deeper than this without consuming a byte mean a grammar that recurses without end.
constexpr int kMaxExpansionDepth = 2000;
// Token masks kept per matcher; a JSON schema's grammar revisits few states, a free grammar may visit many.
constexpr size_t kMaxCachedMasks = 128;

}  // namespace

Automaton::Automaton(const ByteGrammar& grammar) : grammar_(grammar) {
  std::vector<int32_t> start;
  for (uint32_t alternative : grammar_.rule_alternatives[grammar_.root])
    expand(alternative, kEmptyStack, start, 0);
  intern_state(std::move(start));
}

int32_t Automaton::node(uint32_t pos, int32_t parent) {
  const uint64_t key = (static_cast<uint64_t>(pos) << 32) | static_cast<uint32_t>(parent + 1);
  auto [it, added] = node_ids_.emplace(key, static_cast<int32_t>(nodes_.size()));
  if (added) nodes_.push_back({pos, parent});
  return it->second;
}

void Automaton::expand(uint32_t pos, int32_t parent, std::vector<int32_t>& out, int depth) {
  if (depth > kMaxExpansionDepth) {
    throw Error::invalid_argument("grammar: rules nest deeper than " + std::to_string(kMaxExpansionDepth) +
                                  " calls without matching a byte");
  }
  const Symbol& symbol = grammar_.symbols[pos];
  switch (symbol.kind) {
    case Symbol::kEnd:
      if (parent == kEmptyStack) {
        out.push_back(kEmptyStack);
      } else {
        const Node up = nodes_[static_cast<size_t>(parent)];
        expand(up.pos, up.parent, out, depth + 1);
      }
      return;
    case Symbol::kBytes:
      out.push_back(node(pos, parent));
      return;
    case Symbol::kRule: {
      // A call in tail position returns straight to the caller's caller, so that `x ::= a x |` keeps a stack
      // of constant depth however often it repeats.
      const int32_t rest = grammar_.symbols[pos + 1].kind == Symbol::kEnd ? parent : node(pos + 1, parent);
      for (uint32_t alternative : grammar_.rule_alternatives[symbol.value])
        expand(alternative, rest, out, depth + 1);
      return;
    }
  }
}

int32_t Automaton::intern_state(std::vector<int32_t> stacks) {
  std::sort(stacks.begin(), stacks.end());
  stacks.erase(std::unique(stacks.begin(), stacks.end()), stacks.end());
  if (stacks.empty()) return kDead;
  auto [it, added] = state_ids_.emplace(stacks, static_cast<int32_t>(stacks_.size()));
  if (added) {
    const bool accepting = stacks.front() == kEmptyStack;
    accepting_.push_back(accepting);
    final_.push_back(accepting && stacks.size() == 1);
    stacks_.push_back(std::move(stacks));
    std::array<int32_t, 256> unknown;
    unknown.fill(kUnknown);
    transitions_.push_back(unknown);
  }
  return it->second;
}

int32_t Automaton::compute(int32_t state, uint8_t byte) {
  std::vector<int32_t> next;
  // Copied: interning below may grow stacks_.
  const std::vector<int32_t> stacks = stacks_[static_cast<size_t>(state)];
  for (int32_t stack : stacks) {
    if (stack == kEmptyStack) continue;
    const Node top = nodes_[static_cast<size_t>(stack)];
    if (!grammar_.byte_sets[grammar_.symbols[top.pos].value].has(byte)) continue;
    expand(top.pos + 1, top.parent, next, 0);
  }
  return intern_state(std::move(next));
}

std::vector<uint64_t>* Automaton::cached_mask(const void* trie, int32_t state) {
  if (trie != masks_trie_) return nullptr;
  auto it = masks_.find(state);
  return it == masks_.end() ? nullptr : &it->second;
}

void Automaton::cache_mask(const void* trie, int32_t state, std::vector<uint64_t> bits) {
  if (trie != masks_trie_ || masks_.size() >= kMaxCachedMasks) masks_.clear();
  masks_trie_ = trie;
  masks_[state] = std::move(bits);
}

}  // namespace torchllm::grammar
