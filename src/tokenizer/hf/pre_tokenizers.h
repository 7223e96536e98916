#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <vector>

#include "tokenizer/hf/text_piece.h"

namespace torchllm::tokenizer::hf {

// A tokenizer.json pre-tokenizer: cuts a text piece into the words the model tokenizes one by one (and may
// rewrite them, as ByteLevel and Metaspace do), passing each on to `sink` as soon as it is cut, so that a
// long input never lives as a list of all its words. Added tokens never reach a pre-tokenizer.
class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void pre_tokenize(TextPiece&& piece, PieceSink sink) const = 0;
  // The same for a list of pieces, kept in order: tokens pass through, text is cut (for tests).
  std::vector<TextPiece> pre_tokenize_all(std::vector<TextPiece> pieces) const;
};

// Split, ByteLevel, Metaspace, Digits, Punctuation, Whitespace, WhitespaceSplit, CharDelimiterSplit and
// Sequence; null gives nullptr. Any other type is an Error(kUnsupported) naming it.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& config);

}  // namespace torchllm::tokenizer::hf
