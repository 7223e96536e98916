#include "tokenizer/hf/hf_tokenizer.h"

#include <algorithm>

#include "tokenizer/utf8.h"

namespace torchllm::tokenizer::hf {

HfTokenizer::HfTokenizer(Pipeline pipeline)
    : pipeline_(std::move(pipeline)), added_(pipeline_.added_tokens, pipeline_.normalizer.get()) {
  const TokenTable& vocab = pipeline_.model->vocab();
  size_t id_limit = vocab.id_limit();
  vocab_size_ = vocab.size();
  for (const AddedToken& token : added_.tokens()) {
    if (!vocab.find(token.content)) ++vocab_size_;
    id_limit = std::max(id_limit, static_cast<size_t>(token.id) + 1);
  }
  special_ids_.assign(id_limit, false);
  for (const AddedToken& token : added_.tokens()) {
    if (!token.special) continue;
    special_ids_[token.id] = true;
    // tokenizers decides "special" by spelling, so a model token spelled the same counts too.
    if (auto id = vocab.find(token.content)) special_ids_[*id] = true;
  }
  if (pipeline_.decoder && pipeline_.decoder->decodes_byte_runs()) {
    byte_fallback_ids_.assign(id_limit, false);
    for (size_t id = 0; id < vocab.id_limit(); ++id) {
      const std::string_view* spelling = vocab.spelling(static_cast<TokenId>(id));
      if (spelling != nullptr && spelling->size() == 6 && spelling->substr(0, 3) == "<0x" &&
          (*spelling)[5] == '>') {
        byte_fallback_ids_[id] = !added_.find(static_cast<TokenId>(id));
      }
    }
  }
}

std::vector<TokenId> HfTokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  std::vector<TextPiece> pieces;
  if (!text.empty()) pieces.push_back({to_valid_utf8(text), kNoToken, true});
  added_.extract_raw(pieces, options.split_special_tokens);
  if (pipeline_.normalizer) {
    for (TextPiece& piece : pieces) {
      if (!piece.is_token()) pipeline_.normalizer->normalize(piece);
    }
  }
  added_.extract_normalized(pieces, options.split_special_tokens);

  std::vector<TokenId> ids;
  ids.reserve(text.size() / 4 + 4);
  const BpeModel& model = *pipeline_.model;
  const auto cache = model.try_lock_cache();
  auto tokenize = [&](TextPiece&& word) { model.tokenize_word(word.text, ids, cache); };
  for (TextPiece& piece : pieces) {
    if (piece.is_token()) {
      ids.push_back(piece.token);
    } else if (piece.text.empty()) {
      continue;  // normalized away
    } else if (pipeline_.pre_tokenizer) {
      pipeline_.pre_tokenizer->pre_tokenize(std::move(piece), tokenize);
    } else {
      tokenize(std::move(piece));
    }
  }
  if (pipeline_.post_processor) pipeline_.post_processor->process(ids, options.add_special_tokens);
  return ids;
}

std::string HfTokenizer::decode(const std::vector<TokenId>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (TokenId id : ids) {
    if (skip_special_tokens && is_special(id)) continue;
    if (const AddedToken* added = added_.find(id)) {
      tokens.push_back(added->content);
    } else if (const std::string_view* spelling = pipeline_.model->vocab().spelling(id)) {
      tokens.emplace_back(*spelling);
    }
  }
  std::string text;
  if (!pipeline_.decoder) {
    // tokenizers joins with spaces when there is no decoder.
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) text += ' ';
      text += tokens[i];
    }
    return text;
  }
  pipeline_.decoder->decode_chain(tokens);
  for (const std::string& piece : tokens) text += piece;
  return text;
}

std::optional<TokenId> HfTokenizer::token_to_id(std::string_view token) const {
  if (auto id = added_.find(token)) return id;
  return pipeline_.model->vocab().find(token);
}

std::optional<std::string> HfTokenizer::id_to_token(TokenId id) const {
  if (const AddedToken* added = added_.find(id)) return added->content;
  if (const std::string_view* spelling = pipeline_.model->vocab().spelling(id)) return std::string(*spelling);
  return std::nullopt;
}

bool HfTokenizer::is_special(TokenId id) const {
  return id >= 0 && static_cast<size_t>(id) < special_ids_.size() && special_ids_[id];
}

bool HfTokenizer::decode_depends_on_next(TokenId id) const {
  return id >= 0 && static_cast<size_t>(id) < byte_fallback_ids_.size() && byte_fallback_ids_[id];
}

}  // namespace torchllm::tokenizer::hf
