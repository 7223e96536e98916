#include "tokenizer/hf/added_vocabulary.h"

#include <algorithm>

#include "tokenizer/hf/normalizers.h"
#include "tokenizer/unicode_text.h"
#include "tokenizer/utf8.h"

namespace torchllm::tokenizer::hf {
namespace {

bool ends_with_word_character(std::string_view text, size_t end) {
  if (end == 0) return false;
  size_t start;
  return is_word_character(previous_code_point(text, end, start));
}

bool starts_with_word_character(std::string_view text, size_t start) {
  if (start >= text.size()) return false;
  return is_word_character(next_code_point(text, start));
}

// Start of the run of white space that ends at `end`.
size_t white_space_run_start(std::string_view text, size_t end) {
  while (end > 0) {
    size_t start;
    if (!is_white_space(previous_code_point(text, end, start))) break;
    end = start;
  }
  return end;
}

// End of the run of white space that starts at `start`.
size_t white_space_run_end(std::string_view text, size_t start) {
  while (start < text.size()) {
    size_t next = start;
    if (!is_white_space(next_code_point(text, next))) break;
    start = next;
  }
  return start;
}

}  // namespace

void AddedVocabulary::Trie::insert(std::string_view spelling, int32_t token_index) {
  int32_t node = 0;
  for (char c : spelling) {
    const auto byte = static_cast<unsigned char>(c);
    int32_t next = child(node, byte);
    if (next < 0) {
      next = static_cast<int32_t>(nodes_.size());
      nodes_.emplace_back();
      auto& children = nodes_[node].children;
      children.insert(std::lower_bound(children.begin(), children.end(), std::make_pair(byte, int32_t{-1})),
                      {byte, next});
    }
    node = next;
  }
  if (nodes_[node].token_index < 0) nodes_[node].token_index = token_index;
  first_bytes_[static_cast<unsigned char>(spelling[0])] = true;
}

int32_t AddedVocabulary::Trie::child(int32_t node, unsigned char byte) const {
  const auto& children = nodes_[node].children;
  auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(byte, int32_t{-1}));
  return it != children.end() && it->first == byte ? it->second : -1;
}

bool AddedVocabulary::Trie::find(std::string_view text, size_t from, size_t& start, size_t& end,
                                 int32_t& token_index) const {
  if (empty()) return false;
  for (size_t s = from; s < text.size(); ++s) {
    if (!first_bytes_[static_cast<unsigned char>(text[s])]) continue;
    int32_t node = 0;
    token_index = -1;
    for (size_t i = s; i < text.size(); ++i) {
      node = child(node, static_cast<unsigned char>(text[i]));
      if (node < 0) break;
      if (nodes_[node].token_index >= 0) {
        token_index = nodes_[node].token_index;
        end = i + 1;
      }
    }
    if (token_index >= 0) {
      start = s;
      return true;
    }
  }
  return false;
}

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer)
    : tokens_(std::move(tokens)) {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& token = tokens_[i];
    index_of_id_[token.id] = i;
    id_of_content_[token.content] = token.id;
  }
  // Special tokens first, as tokenizers builds its tries; for equal spellings the first one wins.
  for (bool special : {true, false}) {
    for (size_t i = 0; i < tokens_.size(); ++i) {
      const AddedToken& token = tokens_[i];
      if (token.special != special || token.content.empty()) continue;
      if (!token.normalized) {
        raw_.insert(token.content, static_cast<int32_t>(i));
        continue;
      }
      TextPiece spelling{token.content, kNoToken, true};
      if (normalizer != nullptr) normalizer->normalize(spelling);
      if (!spelling.text.empty()) normalized_.insert(spelling.text, static_cast<int32_t>(i));
    }
  }
}

void AddedVocabulary::extract_raw(std::vector<TextPiece>& pieces, bool split_special) const {
  if (!raw_.empty()) extract(raw_, pieces, split_special);
}

void AddedVocabulary::extract_normalized(std::vector<TextPiece>& pieces, bool split_special) const {
  if (!normalized_.empty()) extract(normalized_, pieces, split_special);
}

void AddedVocabulary::extract(const Trie& trie, std::vector<TextPiece>& pieces, bool split_special) const {
  std::vector<TextPiece> out;
  for (TextPiece& piece : pieces) {
    if (piece.is_token()) {
      out.push_back(std::move(piece));
      continue;
    }
    const std::string& text = piece.text;
    size_t kept_until = 0;  // end of what the previous token took
    size_t search_from = 0;
    size_t start, end;
    int32_t index;
    auto add_text = [&](size_t from, size_t to) {
      if (from < to) out.push_back({text.substr(from, to - from), kNoToken, piece.at_origin && from == 0});
    };
    while (trie.find(text, search_from, start, end, index)) {
      search_from = end;  // the search goes on after the match even when the match is then discarded
      const AddedToken& token = tokens_[index];
      if (split_special && token.special) continue;
      if (token.single_word &&
          (ends_with_word_character(text, start) || starts_with_word_character(text, end))) {
        continue;
      }
      if (token.lstrip) start = std::max(white_space_run_start(text, start), kept_until);
      if (token.rstrip) end = white_space_run_end(text, end);
      add_text(kept_until, start);
      out.push_back({text.substr(start, end - start), token.id, false});
      kept_until = end;
    }
    add_text(kept_until, text.size());
  }
  pieces = std::move(out);
}

const AddedToken* AddedVocabulary::find(TokenId id) const {
  auto it = index_of_id_.find(id);
  return it == index_of_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<TokenId> AddedVocabulary::find(std::string_view content) const {
  auto it = id_of_content_.find(std::string(content));
  if (it == id_of_content_.end()) return std::nullopt;
  return it->second;
}

}  // namespace torchllm::tokenizer::hf
