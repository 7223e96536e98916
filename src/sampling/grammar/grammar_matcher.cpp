#include <cstring>
#include <mutex>

#include "sampling/grammar/automaton.h"
#include "sampling/grammar/grammar.h"
#include "torchllm/error.h"
#include "torchllm/grammar.h"

namespace torchllm {

std::shared_ptr<const Grammar> Grammar::from_gbnf(const std::string& gbnf) {
  std::shared_ptr<Grammar> g(new Grammar());
  g->rules_ = std::make_unique<grammar::ByteGrammar>(grammar::parse_gbnf(gbnf));
  g->source_ = gbnf;
  // Building the start state finds a grammar that recurses without consuming before any sequence does.
  g->automaton_ = std::make_shared<grammar::Automaton>(*g->rules_);
  return g;
}

Grammar::~Grammar() = default;

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenTrie> trie)
    : grammar_(std::move(grammar)), trie_(std::move(trie)), automaton_(grammar_->automaton_) {
  state_ = automaton_->start();
}

GrammarMatcher::~GrammarMatcher() = default;

bool GrammarMatcher::can_end() const {
  std::lock_guard<std::mutex> lock(automaton_->mutex());
  return ended_ || automaton_->accepting(state_);
}

bool GrammarMatcher::finished() const {
  std::lock_guard<std::mutex> lock(automaton_->mutex());
  return ended_ || automaton_->final(state_);
}

bool GrammarMatcher::can_accept(const std::string& bytes) {
  if (ended_) return bytes.empty();
  std::lock_guard<std::mutex> lock(automaton_->mutex());
  int32_t state = state_;
  for (char c : bytes) {
    state = automaton_->next(state, static_cast<uint8_t>(c));
    if (state == grammar::Automaton::kDead) return false;
  }
  return true;
}

bool GrammarMatcher::accept_bytes(const std::string& bytes) {
  if (ended_) return bytes.empty();
  std::lock_guard<std::mutex> lock(automaton_->mutex());
  int32_t state = state_;
  for (char c : bytes) {
    state = automaton_->next(state, static_cast<uint8_t>(c));
    if (state == grammar::Automaton::kDead) return false;
  }
  state_ = state;
  return true;
}

void GrammarMatcher::accept_token(int64_t token) {
  if (token < 0 || token >= trie_->vocab_size()) {
    throw Error::invalid_argument("grammar: token " + std::to_string(token) + " is outside the vocabulary");
  }
  if (trie_->is_end(token)) {
    if (!can_end()) throw Error::invalid_argument("grammar: an end token before the output is complete");
    ended_ = true;
    return;
  }
  const std::string& bytes = trie_->bytes_of(token);
  if (bytes.empty() || !accept_bytes(bytes)) {
    throw Error::invalid_argument("grammar: token " + std::to_string(token) + " cannot continue the output");
  }
}

void GrammarMatcher::fill_mask(uint8_t* mask, int64_t mask_size) {
  std::memset(mask, 0, static_cast<size_t>(mask_size));
  if (ended_) return;
  const int64_t vocab = std::min(mask_size, trie_->vocab_size());
  std::lock_guard<std::mutex> lock(automaton_->mutex());
  std::vector<uint64_t>* bits = automaton_->cached_mask(trie_.get(), state_);
  if (!bits) {
    // Walk the trie in preorder with the automaton's state at every depth; a dead state skips the subtree.
    const TokenTrie& t = *trie_;
    std::vector<uint64_t> fresh(static_cast<size_t>((t.vocab_size_ + 63) / 64), 0);
    std::vector<int32_t> at_depth(1, state_);
    const uint32_t n = static_cast<uint32_t>(t.byte_.size());
    for (uint32_t i = 1; i < n;) {
      const uint32_t d = t.depth_[i];
      const int32_t state = automaton_->next(at_depth[d - 1], t.byte_[i]);
      if (state == grammar::Automaton::kDead) {
        i = t.subtree_end_[i];
        continue;
      }
      if (at_depth.size() <= d) at_depth.resize(d + 1);
      at_depth[d] = state;
      for (uint32_t k = t.token_begin_[i]; k < t.token_begin_[i + 1]; ++k) {
        const auto id = static_cast<uint32_t>(t.tokens_[k]);
        fresh[id >> 6] |= uint64_t{1} << (id & 63);
      }
      ++i;
    }
    if (automaton_->accepting(state_)) {
      for (int64_t id : t.end_tokens_) fresh[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (id & 63);
    }
    automaton_->cache_mask(trie_.get(), state_, std::move(fresh));
    bits = automaton_->cached_mask(trie_.get(), state_);
  }
  for (int64_t word = 0; word * 64 < vocab; ++word) {
    const uint64_t w = (*bits)[static_cast<size_t>(word)];
    if (w == 0) continue;
    const int64_t base = word * 64;
    const int64_t limit = std::min<int64_t>(64, vocab - base);
    for (int64_t b = 0; b < limit; ++b) mask[base + b] = static_cast<uint8_t>((w >> b) & 1);
  }
}

}  // namespace torchllm
