#pragma once

#include <cstdint>
#include <vector>

#include "torchllm/tokenizer.h"

namespace torchllm::tokenizer::hf {

// BPE merges: (left id, right id) -> (rank, merged id), open addressing on the packed pair.
class MergeTable {
 public:
  struct Merge {
    uint32_t rank;
    TokenId merged;
  };

  // A pair inserted again takes the new merge, as the map tokenizers collects its merges into does.
  void insert(TokenId left, TokenId right, Merge merge) {
    if ((count_ + 1) * 2 > entries_.size()) grow();
    Entry& entry = entries_[slot_of(key_of(left, right))];
    if (entry.key == kEmpty) ++count_;
    entry = {key_of(left, right), merge};
  }

  const Merge* find(TokenId left, TokenId right) const {
    if (entries_.empty()) return nullptr;
    const Entry& entry = entries_[slot_of(key_of(left, right))];
    return entry.key == kEmpty ? nullptr : &entry.merge;
  }

  size_t size() const { return count_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Entry {
    uint64_t key = kEmpty;
    Merge merge{};
  };

  static uint64_t key_of(TokenId left, TokenId right) {
    return (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
  }

  size_t slot_of(uint64_t key) const {
    const size_t mask = entries_.size() - 1;
    size_t slot = static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 20) & mask;
    while (entries_[slot].key != kEmpty && entries_[slot].key != key) slot = (slot + 1) & mask;
    return slot;
  }

  void grow() {
    std::vector<Entry> old = std::move(entries_);
    entries_.assign(old.empty() ? 1024 : old.size() * 2, Entry{});
    for (const Entry& entry : old) {
      if (entry.key != kEmpty) entries_[slot_of(entry.key)] = entry;
    }
  }

  std::vector<Entry> entries_;
  size_t count_ = 0;
};

}  // namespace torchllm::tokenizer::hf
