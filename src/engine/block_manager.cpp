#include "engine/block_manager.h"

#include <algorithm>
#include <string>

#include "torchllm/error.h"

namespace torchllm {
namespace {

// splitmix64's finalizer: every input bit affects every output bit.
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

BlockManager::BlockManager(int64_t num_blocks, int64_t block_size, bool prefix_caching, uint64_t salt)
    : block_size_(block_size), prefix_caching_(prefix_caching), salt_(salt) {
  if (num_blocks < 1 || block_size < 1) {
    throw Error::invalid_argument("the KV cache needs at least one block of at least one position (got " +
                                  std::to_string(num_blocks) + " blocks of " + std::to_string(block_size) +
                                  ")");
  }
  blocks_.resize(static_cast<size_t>(num_blocks));
  for (int64_t b = 0; b < num_blocks; ++b) blocks_[b].free_position = free_.insert(free_.end(), b);
}

uint64_t BlockManager::chain_hash(uint64_t parent, const int64_t* tokens) const {
  uint64_t h = mix(parent ^ mix(salt_ + 0x9e3779b97f4a7c15ull));
  for (int64_t i = 0; i < block_size_; ++i) h = mix(h ^ static_cast<uint64_t>(tokens[i]));
  return h;
}

std::vector<uint64_t> BlockManager::full_block_hashes(const std::vector<int64_t>& tokens,
                                                      int64_t blocks) const {
  std::vector<uint64_t> hashes;
  hashes.reserve(static_cast<size_t>(blocks));
  uint64_t parent = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    parent = chain_hash(parent, tokens.data() + b * block_size_);
    hashes.push_back(parent);
  }
  return hashes;
}

std::optional<int64_t> BlockManager::cached_block(uint64_t hash, const int64_t* tokens) const {
  auto [first, last] = cached_.equal_range(hash);
  for (auto it = first; it != last; ++it) {
    const Block& block = blocks_[it->second];
    if (std::equal(block.tokens.begin(), block.tokens.end(), tokens)) return it->second;
  }
  return std::nullopt;
}

BlockManager::Plan BlockManager::plan(const std::vector<int64_t>& tokens) const {
  Plan p;
  const auto length = static_cast<int64_t>(tokens.size());
  p.fresh = blocks_for(length, block_size_);
  if (!prefix_caching_) return p;
  p.hashes = full_block_hashes(tokens, length / block_size_);
  // At most length - 1 tokens are shared: the last one is computed to give logits.
  const int64_t shareable = length < 2 ? 0 : (length - 1) / block_size_;
  int64_t b = 0;
  for (; b < shareable; ++b) {
    const std::optional<int64_t> block = cached_block(p.hashes[b], tokens.data() + b * block_size_);
    if (!block) break;
    p.hits.push_back(*block);
    // A hit another sequence holds takes no free block; one nobody holds comes out of the free list too.
    if (!blocks_[*block].free) --p.fresh;
  }
  while (b < shareable && pending_.count(p.hashes[b])) ++b;
  p.pending_blocks = b - static_cast<int64_t>(p.hits.size());
  return p;
}

BlockManager::PrefixMatch BlockManager::match(const std::vector<int64_t>& tokens) const {
  const Plan p = plan(tokens);
  return PrefixMatch{static_cast<int64_t>(p.hits.size()) * block_size_, p.pending_blocks * block_size_};
}

bool BlockManager::can_allocate(const std::vector<int64_t>& tokens) const {
  return plan(tokens).fresh <= free_blocks();
}

std::optional<int64_t> BlockManager::allocate(SequenceKey key, const std::vector<int64_t>& tokens) {
  if (sequences_.count(key)) throw Error::internal("sequence " + std::to_string(key) + " already has blocks");
  if (tokens.empty()) throw Error::internal("a sequence needs tokens to be admitted");
  Plan p = plan(tokens);
  if (p.fresh > free_blocks()) return std::nullopt;
  SequenceBlocks seq;
  const auto hits = static_cast<int64_t>(p.hits.size());
  for (const int64_t block : p.hits) {
    take(block);
    seq.table.push_back(block);
  }
  const int64_t total = blocks_for(static_cast<int64_t>(tokens.size()), block_size_);
  while (static_cast<int64_t>(seq.table.size()) < total) seq.table.push_back(take_free());
  seq.hashes = std::move(p.hashes);
  seq.cached_blocks = hits;
  seq.pending_from = hits;
  seq.announced_end = static_cast<int64_t>(seq.hashes.size());
  for (int64_t b = hits; b < seq.announced_end; ++b) ++pending_[seq.hashes[b]];
  sequences_.emplace(key, std::move(seq));
  return hits * block_size_;
}

bool BlockManager::reserve(SequenceKey key, int64_t tokens) {
  auto it = sequences_.find(key);
  if (it == sequences_.end()) throw Error::internal("sequence " + std::to_string(key) + " has no blocks");
  std::vector<int64_t>& table = it->second.table;
  const int64_t need = blocks_for(tokens, block_size_) - static_cast<int64_t>(table.size());
  if (need > free_blocks()) return false;
  for (int64_t i = 0; i < need; ++i) table.push_back(take_free());
  return true;
}

void BlockManager::computed(SequenceKey key, const std::vector<int64_t>& tokens, int64_t count) {
  if (!prefix_caching_) return;
  auto it = sequences_.find(key);
  if (it == sequences_.end()) throw Error::internal("sequence " + std::to_string(key) + " has no blocks");
  SequenceBlocks& seq = it->second;
  const int64_t full =
      std::min<int64_t>(std::min<int64_t>(count, static_cast<int64_t>(tokens.size())) / block_size_,
                        static_cast<int64_t>(seq.table.size()));
  for (int64_t b = seq.cached_blocks; b < full; ++b) {
    const int64_t* block_tokens = tokens.data() + b * block_size_;
    if (b >= static_cast<int64_t>(seq.hashes.size())) {  // a block of generated tokens
      seq.hashes.push_back(chain_hash(b == 0 ? 0 : seq.hashes[b - 1], block_tokens));
    }
    const uint64_t hash = seq.hashes[b];
    if (b >= seq.pending_from && b < seq.announced_end) {
      if (--pending_[hash] == 0) pending_.erase(hash);
    }
    Block& block = blocks_[seq.table[b]];
    // An equal block cached already (two sequences computed the same prefix at once) stays the one shared.
    if (!block.hash && !cached_block(hash, block_tokens)) {
      block.hash = hash;
      block.tokens.assign(block_tokens, block_tokens + block_size_);
      cached_.emplace(hash, seq.table[b]);
    }
  }
  seq.cached_blocks = std::max(seq.cached_blocks, full);
  seq.pending_from = std::max(seq.pending_from, std::min(full, seq.announced_end));
}

void BlockManager::release(SequenceKey key, bool keep_contents) {
  auto it = sequences_.find(key);
  if (it == sequences_.end()) throw Error::internal("sequence " + std::to_string(key) + " has no blocks");
  SequenceBlocks& seq = it->second;
  for (int64_t b = seq.pending_from; b < seq.announced_end; ++b) {
    if (--pending_[seq.hashes[b]] == 0) pending_.erase(seq.hashes[b]);
  }
  // Last block first: of a sequence's blocks, the end of its prefix is evicted before the beginning, which
  // more sequences share.
  for (auto b = seq.table.rbegin(); b != seq.table.rend(); ++b) {
    if (--blocks_[*b].refs == 0) give_back(*b, keep_contents);
  }
  sequences_.erase(it);
}

const std::vector<int64_t>& BlockManager::block_table(SequenceKey key) const {
  auto it = sequences_.find(key);
  if (it == sequences_.end()) throw Error::internal("sequence " + std::to_string(key) + " has no blocks");
  return it->second.table;
}

void BlockManager::take(int64_t block) {
  Block& b = blocks_[block];
  if (b.free) {
    free_.erase(b.free_position);
    b.free = false;
    if (b.hash) --cached_free_;
  }
  ++b.refs;
}

int64_t BlockManager::take_free() {
  if (free_.empty()) throw Error::internal("no free KV block");
  const int64_t block = free_.front();
  if (blocks_[block].hash) {
    --cached_free_;
    forget_contents(block);
  }
  free_.pop_front();
  blocks_[block].free = false;
  blocks_[block].refs = 1;
  return block;
}

void BlockManager::give_back(int64_t block, bool keep_contents) {
  Block& b = blocks_[block];
  if (!keep_contents && b.hash) forget_contents(block);
  b.free = true;
  if (b.hash) {  // reusable until needed: the most recently used are evicted last
    b.free_position = free_.insert(free_.end(), block);
    ++cached_free_;
  } else {
    b.free_position = free_.insert(free_.begin(), block);
  }
}

void BlockManager::forget_contents(int64_t block) {
  Block& b = blocks_[block];
  auto [first, last] = cached_.equal_range(*b.hash);
  for (auto it = first; it != last; ++it) {
    if (it->second == block) {
      cached_.erase(it);
      break;
    }
  }
  b.hash.reset();
  b.tokens.clear();
}

}  // namespace torchllm
