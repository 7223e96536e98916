#pragma once

#include <array>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "tokenizer/hf/merge_table.h"
#include "tokenizer/hf/text_piece.h"
#include "tokenizer/hf/token_table.h"

namespace torchllm::tokenizer::hf {

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix;
  std::string end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};

// tokenizers' BPE model: splits a word into characters and applies the merges lowest rank first (leftmost on
// ties), with unk / byte-fallback handling of characters outside the vocabulary. Words are cached.
class BpeModel {
 public:
  // Throws Error(kCorruptInput) when a merge names a token outside the vocabulary.
  BpeModel(TokenTable vocab, const std::vector<std::pair<std::string, std::string>>& merges,
           BpeOptions options);

  // Appends the ids of `word` to `out`.
  void tokenize(std::string_view word, std::vector<TokenId>& out) const;

  // The word cache, taken for the words of one encode at once; while another thread holds it, tokenize_word
  // goes without (a busy cache is skipped rather than waited for, as tokenizers does).
  std::unique_lock<std::mutex> try_lock_cache() const {
    return std::unique_lock<std::mutex>(cache_mutex_, std::try_to_lock);
  }
  void tokenize_word(std::string_view word, std::vector<TokenId>& out,
                     const std::unique_lock<std::mutex>& cache) const;

  const TokenTable& vocab() const { return vocab_; }
  size_t merge_count() const { return merges_.size(); }

 private:
  void merge_word(std::string_view word, std::vector<TokenId>& out) const;
  void merge_symbols(size_t begin, size_t end, std::vector<TokenId>& out) const;
  void merge_by_scanning(size_t begin, size_t end, std::vector<TokenId>& out) const;
  void merge_with_queue(size_t begin, size_t end, std::vector<TokenId>& out) const;
  // Every pair of neighbouring characters in some token's spelling (built on first use).
  const std::unordered_set<uint64_t>& adjacent_characters() const;
  std::optional<TokenId> symbol_id(std::string_view word, size_t start, size_t end,
                                   std::string& scratch) const;

  TokenTable vocab_;
  MergeTable merges_;
  BpeOptions options_;
  std::optional<TokenId> unk_id_;
  std::array<TokenId, 256> byte_token_ids_{};  // "<0xNN>" tokens for byte_fallback, -1 when absent
  std::vector<TokenId>
      small_character_ids_;  // ids of single characters below U+0800, when no prefix/suffix applies

  mutable std::once_flag adjacent_characters_built_;
  mutable std::unordered_set<uint64_t> adjacent_characters_;

  static constexpr size_t kCacheCapacity = 100000;
  static constexpr size_t kCacheMaxWordBytes = 256;
  struct CachedWord {
    std::string word;
    std::vector<TokenId> ids;
  };
  mutable std::mutex cache_mutex_;
  // Keyed by a hash of the word, so that a lookup builds no string; the word itself confirms the hit.
  mutable std::unordered_map<uint64_t, CachedWord> cache_;
};

}  // namespace torchllm::tokenizer::hf
