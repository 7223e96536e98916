#pragma once

// The grammar run as a pushdown automaton whose configurations are sets of stacks (as llama.cpp's grammar
// sampler runs it), determinized lazily: every distinct set of stacks becomes a numbered state, and each
// (state, byte) transition is computed once and then read from a table. Stacks are interned as linked nodes
// (top position, rest), so stacks that share their lower part share it in memory.

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "sampling/grammar/grammar.h"

namespace torchllm::grammar {

class Automaton {
 public:
  static constexpr int32_t kDead = -1;

  explicit Automaton(const ByteGrammar& grammar);

  int32_t start() const { return 0; }
  // The state after `byte`, or kDead.
  int32_t next(int32_t state, uint8_t byte) {
    const int32_t known = transitions_[static_cast<size_t>(state)][byte];
    if (known != kUnknown) return known;
    const int32_t computed = compute(state, byte);  // may add states (and move the table)
    transitions_[static_cast<size_t>(state)][byte] = computed;
    return computed;
  }
  // The grammar's root is complete in this state.
  bool accepting(int32_t state) const { return accepting_[static_cast<size_t>(state)]; }
  // Complete, and no byte can follow.
  bool final(int32_t state) const { return final_[static_cast<size_t>(state)]; }
  size_t states() const { return stacks_.size(); }

  // A token mask cached per state (for one vocabulary, `trie`, at a time), bits over the vocabulary.
  std::vector<uint64_t>* cached_mask(const void* trie, int32_t state);
  void cache_mask(const void* trie, int32_t state, std::vector<uint64_t> bits);

  // Matchers of one grammar share its automaton; each holds this while it reads or grows the tables.
  std::mutex& mutex() { return mutex_; }

 private:
  static constexpr int32_t kUnknown = -2;
  static constexpr int32_t kEmptyStack = -1;  // in a state's stack list: the root is complete

  struct Node {
    uint32_t pos;    // the next symbol to match
    int32_t parent;  // the rest of the stack (where to return), or kEmptyStack
  };

  int32_t node(uint32_t pos, int32_t parent);
  // Pushes the stacks reached from (pos, parent) whose top is a byte set (or kEmptyStack when it completes).
  void expand(uint32_t pos, int32_t parent, std::vector<int32_t>& out, int depth);
  int32_t intern_state(std::vector<int32_t> stacks);
  int32_t compute(int32_t state, uint8_t byte);

  const ByteGrammar& grammar_;
  std::vector<Node> nodes_;
  std::unordered_map<uint64_t, int32_t> node_ids_;
  std::vector<std::vector<int32_t>> stacks_;  // state -> its stacks, sorted
  std::map<std::vector<int32_t>, int32_t> state_ids_;
  std::vector<std::array<int32_t, 256>> transitions_;
  std::vector<bool> accepting_, final_;
  std::unordered_map<int32_t, std::vector<uint64_t>> masks_;
  const void* masks_trie_ = nullptr;
  std::mutex mutex_;
};

}  // namespace torchllm::grammar
