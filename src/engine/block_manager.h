#pragma once

// Which KV blocks each sequence owns, and which full blocks hold which token prefix: plain bookkeeping, no
// tensors (nano-vllm's block_manager.py, vLLM's KV cache manager).
//
// The pool has `num_blocks` blocks of `block_size` positions. A sequence's block table maps its positions
// to blocks in order. Blocks are reference-counted: with prefix caching, a full block is keyed by a hash
// chained over its parent block's hash and its own token ids, and a new sequence whose prompt starts with
// the same tokens shares those blocks instead of computing them again. A block whose last sequence leaves
// keeps its contents and its key until the block is needed for something else; free blocks are handed out
// least recently used first, so a popular prefix stays.

#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

namespace torchllm {

class BlockManager {
 public:
  using SequenceKey = uint64_t;

  // `salt` goes into every hash (anything besides the tokens that changes K/V, e.g. the model).
  BlockManager(int64_t num_blocks, int64_t block_size, bool prefix_caching, uint64_t salt = 0);

  int64_t block_size() const { return block_size_; }
  int64_t num_blocks() const { return static_cast<int64_t>(blocks_.size()); }
  static int64_t blocks_for(int64_t tokens, int64_t block_size) {
    return (tokens + block_size - 1) / block_size;
  }

  struct PrefixMatch {
    int64_t cached_tokens = 0;   // leading tokens whose K/V cached blocks hold (whole blocks)
    int64_t pending_tokens = 0;  // beyond those, leading tokens that a running sequence is computing now
  };
  // How much of `tokens` is cached: whole blocks, at most tokens.size() - 1 tokens (the last one must be
  // computed to give logits). Changes nothing.
  PrefixMatch match(const std::vector<int64_t>& tokens) const;

  // Whether a sequence of `tokens` can be admitted now, with blocks for all of them.
  bool can_allocate(const std::vector<int64_t>& tokens) const;
  // Admits sequence `key`: shares the cached leading blocks of `tokens` and allocates blocks for the rest.
  // Returns the number of cached tokens; nothing (and no change) when the free blocks do not suffice. The
  // sequence's full blocks that it will compute are announced as pending (match() reports them), so that a
  // sequence with the same prefix can wait for them instead of computing them too.
  std::optional<int64_t> allocate(SequenceKey key, const std::vector<int64_t>& tokens);
  // Grows the sequence's table to hold `tokens` positions; false (and no change) when no block is free.
  bool reserve(SequenceKey key, int64_t tokens);
  // Records that the sequence's K/V now hold the first `count` of `tokens` (its token list): their full
  // blocks become cached, keyed by their prefix.
  void computed(SequenceKey key, const std::vector<int64_t>& tokens, int64_t count);
  // The sequence leaves: its blocks lose a reference. keep_contents=false drops what its blocks hold (after
  // a failed forward pass, whose K/V may be half written).
  void release(SequenceKey key, bool keep_contents = true);

  const std::vector<int64_t>& block_table(SequenceKey key) const;
  bool has(SequenceKey key) const { return sequences_.count(key) != 0; }

  int64_t free_blocks() const { return static_cast<int64_t>(free_.size()); }
  int64_t used_blocks() const { return num_blocks() - free_blocks(); }
  // Free blocks that still hold a cached prefix.
  int64_t cached_free_blocks() const { return cached_free_; }

 private:
  struct Block {
    int32_t refs = 0;
    std::optional<uint64_t> hash;  // set while the block is a cached full block
    std::vector<int64_t> tokens;   // its tokens while cached (to tell hash collisions apart)
    std::list<int64_t>::iterator free_position;
    bool free = true;
  };
  struct SequenceBlocks {
    std::vector<int64_t> table;
    std::vector<uint64_t> hashes;  // of its full blocks, in order (announced or cached)
    int64_t cached_blocks = 0;     // leading blocks that are cached (shared or computed by it)
    int64_t pending_from = 0;      // its first block still announced as pending
    int64_t announced_end = 0;     // the end of the blocks it announced at admission
  };

  // What admitting `tokens` takes, worked out once for match, can_allocate and allocate.
  struct Plan {
    std::vector<uint64_t> hashes;  // of the tokens' full blocks (with prefix caching)
    std::vector<int64_t> hits;     // the cached blocks of the shareable prefix, in order
    int64_t pending_blocks = 0;    // blocks after the hits that a running sequence is computing
    int64_t fresh = 0;             // free blocks it takes: the new ones and the hits nobody holds
  };
  Plan plan(const std::vector<int64_t>& tokens) const;
  uint64_t chain_hash(uint64_t parent, const int64_t* tokens) const;
  std::vector<uint64_t> full_block_hashes(const std::vector<int64_t>& tokens, int64_t blocks) const;
  std::optional<int64_t> cached_block(uint64_t hash, const int64_t* tokens) const;
  int64_t take_free();       // the least recently used free block, its cached contents forgotten
  void take(int64_t block);  // a particular free block (a cached one being shared)
  void give_back(int64_t block, bool keep_contents);
  void forget_contents(int64_t block);

  int64_t block_size_;
  bool prefix_caching_;
  uint64_t salt_;
  std::vector<Block> blocks_;
  std::list<int64_t> free_;  // front: handed out first
  int64_t cached_free_ = 0;
  std::unordered_multimap<uint64_t, int64_t> cached_;  // hash -> block
  std::unordered_map<uint64_t, int64_t> pending_;      // hash -> sequences computing a block of it
  std::unordered_map<SequenceKey, SequenceBlocks> sequences_;
};

}  // namespace torchllm
