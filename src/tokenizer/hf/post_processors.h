#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <vector>

#include "torchllm/tokenizer.h"

namespace torchllm::tokenizer::hf {

// A tokenizer.json post-processor: adds the special tokens around an encoded sequence (single sequences
// only).
class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual void process(std::vector<TokenId>& ids, bool add_special_tokens) const = 0;
};

// TemplateProcessing, ByteLevel (offsets only, so nothing here) and Sequence; null gives nullptr. Any other
// type is an Error(kUnsupported) naming it.
std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& config);

}  // namespace torchllm::tokenizer::hf
