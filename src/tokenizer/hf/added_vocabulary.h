#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/hf/text_piece.h"

namespace torchllm::tokenizer::hf {

class Normalizer;

// One entry of tokenizer.json's added_tokens.
struct AddedToken {
  TokenId id = kNoToken;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

// Finds the added tokens in the input, the way tokenizers' AddedVocabulary does: tokens with normalized =
// false are matched in the raw input, the others in the normalized text; matches are leftmost-longest and
// non-overlapping.
class AddedVocabulary {
 public:
  AddedVocabulary() = default;
  // `normalizer` (may be null) gives the normalized spelling of the normalized = true tokens.
  AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer);

  // Cuts the tokens matched in the raw text out of the text pieces. With split_special, special tokens are
  // not recognized (their text stays plain text).
  void extract_raw(std::vector<TextPiece>& pieces, bool split_special) const;
  // The same for tokens matched in the normalized text.
  void extract_normalized(std::vector<TextPiece>& pieces, bool split_special) const;

  const AddedToken* find(TokenId id) const;
  std::optional<TokenId> find(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  // A byte trie of token spellings, searched leftmost-longest.
  class Trie {
   public:
    void insert(std::string_view spelling, int32_t token_index);
    // The first match starting at or after `from`: [start, end) and the index of its token.
    bool find(std::string_view text, size_t from, size_t& start, size_t& end, int32_t& token_index) const;
    bool empty() const { return nodes_.size() <= 1; }

   private:
    struct Node {
      std::vector<std::pair<unsigned char, int32_t>> children;  // sorted by byte
      int32_t token_index = -1;
    };
    int32_t child(int32_t node, unsigned char byte) const;
    std::vector<Node> nodes_{Node{}};
    bool first_bytes_[256] = {};
  };

  void extract(const Trie& trie, std::vector<TextPiece>& pieces, bool split_special) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<TokenId, size_t> index_of_id_;
  std::unordered_map<std::string, TokenId> id_of_content_;
  Trie raw_;
  Trie normalized_;
};

}  // namespace torchllm::tokenizer::hf
