#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>

#include "tokenizer/hf/text_piece.h"

namespace torchllm::tokenizer::hf {

// A tokenizer.json normalizer: rewrites the text of one piece (the input between added tokens).
class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(TextPiece& piece) const = 0;
};

// NFC, NFD, NFKC, NFKD, Prepend, Replace, Lowercase, Strip and Sequence; null gives nullptr. Any other type
// is an Error(kUnsupported) naming it.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& config);

}  // namespace torchllm::tokenizer::hf
