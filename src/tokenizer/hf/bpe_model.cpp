#include "tokenizer/hf/bpe_model.h"

#include <algorithm>
#include <cstdio>
#include <functional>

#include "tokenizer/utf8.h"
#include "torchllm/error.h"

namespace torchllm::tokenizer::hf {
namespace {

constexpr char32_t kSmallCharacterLimit = 0x800;

// A symbol of the word being merged: a doubly linked list over a vector, as in tokenizers' Word.
struct Symbol {
  TokenId id;
  int32_t prev;
  int32_t next;
  uint32_t length;     // bytes; 0 marks a symbol merged into its left neighbour
  char32_t character;  // the character of an initial one-character symbol, else kNotCharacter
};

constexpr char32_t kNotCharacter = 0xFFFFFFFF;

uint64_t character_pair(char32_t left, char32_t right) { return (uint64_t{left} << 32) | right; }

// A merge waiting in the queue: rank << 32 | position, so that the smallest value is the lowest rank,
// leftmost on ties. The rank names its pair (every pair has one rank), which is how a stale entry is
// recognized.
uint64_t queued(uint32_t rank, int32_t position) {
  return (uint64_t{rank} << 32) | static_cast<uint32_t>(position);
}

uint64_t word_hash(std::string_view word) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (char c : word) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

// Words up to this many symbols are merged by scanning for the best pair, longer ones with a priority queue;
// both pick the lowest-ranked pair, leftmost on ties, which is the order tokenizers' queue produces.
constexpr size_t kScanLimit = 32;

// The word being merged and the merge queue of a long word (per thread, reused across words).
thread_local std::vector<Symbol> word_symbols;
thread_local std::vector<uint64_t> merge_queue;

// A server tokenizes on many threads: a buffer that grew for one huge word is given back rather than kept
// resident on each of them.
constexpr size_t kKeptScratchElements = size_t{1} << 16;

template <typename T>
void release_if_oversized(std::vector<T>& buffer) {
  if (buffer.capacity() > kKeptScratchElements) std::vector<T>().swap(buffer);
}

}  // namespace

BpeModel::BpeModel(TokenTable vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                   BpeOptions options)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
  const size_t prefix_length = options_.continuing_subword_prefix.size();
  uint32_t rank = 0;
  std::string merged;
  for (const auto& [left, right] : merges) {
    const auto left_id = vocab_.find(left);
    const auto right_id = vocab_.find(right);
    if (!left_id || !right_id) {
      throw Error::corrupt("BPE merge '" + left + " " + right + "' uses '" + (left_id ? right : left) +
                           "', which is not in the vocabulary");
    }
    merged = left;
    merged.append(right, std::min(prefix_length, right.size()), std::string::npos);
    const auto merged_id = vocab_.find(merged);
    if (!merged_id) {
      throw Error::corrupt("BPE merge '" + left + " " + right + "' makes '" + merged +
                           "', which is not in the vocabulary");
    }
    merges_.insert(*left_id, *right_id, {rank++, *merged_id});
  }
  if (options_.unk_token) unk_id_ = vocab_.find(*options_.unk_token);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    byte_token_ids_[b] = vocab_.find(name).value_or(kNoToken);
  }
  if (options_.continuing_subword_prefix.empty() && options_.end_of_word_suffix.empty()) {
    small_character_ids_.assign(kSmallCharacterLimit, kNoToken);
    for (char32_t c = 0; c < kSmallCharacterLimit; ++c) {
      small_character_ids_[c] = vocab_.find(utf8_of(c)).value_or(kNoToken);
    }
  }
}

void BpeModel::tokenize(std::string_view word, std::vector<TokenId>& out) const {
  tokenize_word(word, out, try_lock_cache());
}

void BpeModel::tokenize_word(std::string_view word, std::vector<TokenId>& out,
                             const std::unique_lock<std::mutex>& cache) const {
  const bool use_cache = cache.owns_lock() && cache.mutex() == &cache_mutex_;
  if (word.empty()) return;
  if (options_.ignore_merges) {
    if (auto id = vocab_.find(word)) {
      out.push_back(*id);
      return;
    }
  }
  const bool cacheable = use_cache && word.size() < kCacheMaxWordBytes;
  const uint64_t key = cacheable ? word_hash(word) : 0;
  if (cacheable) {
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.word == word) {
      out.insert(out.end(), it->second.ids.begin(), it->second.ids.end());
      return;
    }
  }
  const size_t first = out.size();
  merge_word(word, out);
  release_if_oversized(word_symbols);
  release_if_oversized(merge_queue);
  if (cacheable && cache_.size() < kCacheCapacity) {
    cache_.emplace(key, CachedWord{std::string(word), std::vector<TokenId>(out.begin() + first, out.end())});
  }
}

std::optional<TokenId> BpeModel::symbol_id(std::string_view word, size_t start, size_t end,
                                           std::string& scratch) const {
  if (!small_character_ids_.empty()) {
    size_t pos = start;
    const char32_t c = next_code_point(word, pos);
    if (c < kSmallCharacterLimit) {
      const TokenId id = small_character_ids_[c];
      return id == kNoToken ? std::nullopt : std::optional<TokenId>(id);
    }
    return vocab_.find(word.substr(start, end - start));
  }
  scratch.clear();
  if (start != 0) scratch += options_.continuing_subword_prefix;
  scratch.append(word.substr(start, end - start));
  if (end == word.size()) scratch += options_.end_of_word_suffix;
  return vocab_.find(scratch);
}

void BpeModel::merge_word(std::string_view word, std::vector<TokenId>& out) const {
  thread_local std::string scratch;
  word_symbols.clear();
  auto add = [](TokenId id, size_t length, char32_t character = kNotCharacter) {
    const auto index = static_cast<int32_t>(word_symbols.size());
    if (index > 0) word_symbols.back().next = index;
    word_symbols.push_back({id, index - 1, -1, static_cast<uint32_t>(length), character});
  };

  // Characters outside the vocabulary become byte tokens (byte_fallback), else unk (fused with a preceding
  // unk when fuse_unk), else nothing; a pending unk is only flushed by the next known character, as in
  // tokenizers.
  bool has_unk = false;
  size_t unk_length = 0;
  size_t pos = 0;
  while (pos < word.size()) {
    const size_t start = pos;
    const char32_t character = next_code_point(word, pos);
    if (auto id = symbol_id(word, start, pos, scratch)) {
      if (has_unk) {
        add(*unk_id_, unk_length);
        has_unk = false;
      }
      add(*id, pos - start, character);
      continue;
    }
    if (options_.byte_fallback) {
      std::string_view spelled = word.substr(start, pos - start);
      if (small_character_ids_.empty()) spelled = scratch;  // tokenizers falls back on the prefixed spelling
      const bool all_bytes_known = std::all_of(spelled.begin(), spelled.end(), [&](char b) {
        return byte_token_ids_[static_cast<unsigned char>(b)] != kNoToken;
      });
      if (all_bytes_known) {
        for (char b : spelled) add(byte_token_ids_[static_cast<unsigned char>(b)], 1);
        continue;
      }
    }
    if (!options_.unk_token) continue;
    if (!unk_id_) {
      throw Error::corrupt("the BPE unk_token '" + *options_.unk_token + "' is not in the vocabulary");
    }
    if (has_unk && options_.fuse_unk) {
      unk_length += pos - start;
    } else {
      if (has_unk) add(*unk_id_, unk_length);
      has_unk = true;
      unk_length = pos - start;
    }
  }
  if (has_unk) add(*unk_id_, unk_length);

  const size_t count = word_symbols.size();
  // Without a prefix or suffix, each initial symbol of a known character is that character's token, and a
  // merge across two neighbouring characters makes a token whose spelling holds both: where no token does, no
  // merge ever crosses, and the stretches on either side merge on their own (long words then cost much less).
  if (count <= kScanLimit || small_character_ids_.empty()) {
    merge_symbols(0, count, out);
    return;
  }
  const std::unordered_set<uint64_t>& pairs = adjacent_characters();
  size_t begin = 0;
  for (size_t i = 1; i < count; ++i) {
    const char32_t left = word_symbols[i - 1].character, right = word_symbols[i].character;
    if (left != kNotCharacter && right != kNotCharacter && pairs.count(character_pair(left, right)) == 0) {
      merge_symbols(begin, i, out);
      begin = i;
    }
  }
  merge_symbols(begin, count, out);
}

const std::unordered_set<uint64_t>& BpeModel::adjacent_characters() const {
  std::call_once(adjacent_characters_built_, [this] {
    for (size_t id = 0; id < vocab_.id_limit(); ++id) {
      const std::string_view* spelling = vocab_.spelling(static_cast<TokenId>(id));
      if (spelling == nullptr) continue;
      size_t pos = 0;
      char32_t previous = kNotCharacter;
      while (pos < spelling->size()) {
        const char32_t c = next_code_point(*spelling, pos);
        if (previous != kNotCharacter) adjacent_characters_.insert(character_pair(previous, c));
        previous = c;
      }
    }
  });
  return adjacent_characters_;
}

void BpeModel::merge_symbols(size_t begin, size_t end, std::vector<TokenId>& out) const {
  if (end - begin <= kScanLimit) {
    merge_by_scanning(begin, end, out);
  } else {
    merge_with_queue(begin, end, out);
  }
}

void BpeModel::merge_by_scanning(size_t begin, size_t end, std::vector<TokenId>& out) const {
  constexpr uint32_t kNoMerge = UINT32_MAX;
  TokenId ids[kScanLimit];
  uint32_t ranks[kScanLimit];  // ranks[i]: merge of ids[i] and ids[i + 1]
  TokenId merged[kScanLimit];
  size_t n = end - begin;
  for (size_t i = 0; i < n; ++i) ids[i] = word_symbols[begin + i].id;
  auto look_up = [&](size_t i) {
    const MergeTable::Merge* m = merges_.find(ids[i], ids[i + 1]);
    ranks[i] = m ? m->rank : kNoMerge;
    merged[i] = m ? m->merged : kNoToken;
  };
  for (size_t i = 0; i + 1 < n; ++i) look_up(i);
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i) {
      if (ranks[i] < ranks[best]) best = i;
    }
    if (ranks[best] == kNoMerge) break;
    ids[best] = merged[best];
    for (size_t i = best + 1; i + 1 < n; ++i) {
      ids[i] = ids[i + 1];
      ranks[i] = ranks[i + 1];
      merged[i] = merged[i + 1];
    }
    --n;
    if (best > 0) look_up(best - 1);
    if (best + 1 < n) look_up(best);
  }
  out.insert(out.end(), ids, ids + n);
}

void BpeModel::merge_with_queue(size_t begin, size_t end, std::vector<TokenId>& out) const {
  std::vector<uint64_t>& queue = merge_queue;
  queue.clear();
  const std::greater<uint64_t> later;  // makes the std heap functions keep the smallest on top
  word_symbols[begin].prev = -1;
  word_symbols[end - 1].next = -1;
  for (size_t i = begin; i + 1 < end; ++i) {
    if (const MergeTable::Merge* m = merges_.find(word_symbols[i].id, word_symbols[i + 1].id)) {
      queue.push_back(queued(m->rank, static_cast<int32_t>(i)));
    }
  }
  std::make_heap(queue.begin(), queue.end(), later);
  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end(), later);
    const uint64_t top = queue.back();
    queue.pop_back();
    const auto position = static_cast<int32_t>(top & 0xFFFFFFFF);
    Symbol& left = word_symbols[position];
    if (left.length == 0 || left.next == -1) continue;
    const int32_t right_index = left.next;
    const Symbol right = word_symbols[right_index];
    // An entry made stale by an earlier merge no longer names the pair at its position.
    const MergeTable::Merge* current = merges_.find(left.id, right.id);
    if (current == nullptr || current->rank != (top >> 32)) continue;

    left.id = current->merged;
    left.length += right.length;
    left.next = right.next;
    word_symbols[right_index].length = 0;
    if (right.next >= 0) word_symbols[right.next].prev = position;

    if (left.prev >= 0) {
      if (const MergeTable::Merge* m = merges_.find(word_symbols[left.prev].id, left.id)) {
        queue.push_back(queued(m->rank, left.prev));
        std::push_heap(queue.begin(), queue.end(), later);
      }
    }
    if (left.next >= 0) {
      if (const MergeTable::Merge* m = merges_.find(left.id, word_symbols[left.next].id)) {
        queue.push_back(queued(m->rank, position));
        std::push_heap(queue.begin(), queue.end(), later);
      }
    }
  }
  for (size_t i = begin; i < end; ++i) {
    if (word_symbols[i].length != 0) out.push_back(word_symbols[i].id);
  }
}

}  // namespace torchllm::tokenizer::hf
