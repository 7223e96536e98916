#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace torchllm::tokenizer::hf {

// A tokenizer.json decoder: turns the token spellings of the ids into text pieces (tokenizers' decode_chain);
// the decoded text is their concatenation.
class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
  // Whether the text of a byte-fallback token ("<0xNN>") depends on the tokens after it.
  virtual bool decodes_byte_runs() const { return false; }
};

// ByteLevel, ByteFallback, Fuse, Strip, Replace, Metaspace and Sequence; null gives nullptr. Any other type
// is an Error(kUnsupported) naming it.
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& config);

}  // namespace torchllm::tokenizer::hf
