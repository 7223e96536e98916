#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/hf/added_vocabulary.h"
#include "tokenizer/hf/bpe_model.h"
#include "tokenizer/hf/decoders.h"
#include "tokenizer/hf/normalizers.h"
#include "tokenizer/hf/post_processors.h"
#include "tokenizer/hf/pre_tokenizers.h"
#include "torchllm/tokenizer.h"

namespace torchllm::tokenizer::hf {

// The parts of a tokenizer.json; any of them but the model may be absent.
struct Pipeline {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<BpeModel> model;
  std::unique_ptr<PostProcessor> post_processor;
  std::unique_ptr<Decoder> decoder;
  std::vector<AddedToken> added_tokens;
};

// A Hugging Face tokenizer.json tokenizer: added tokens, normalizer, pre-tokenizer, BPE, post-processor,
// decoder, run in the order tokenizers runs them.
class HfTokenizer final : public Tokenizer {
 public:
  explicit HfTokenizer(Pipeline pipeline);

  std::vector<TokenId> encode(std::string_view text, const EncodeOptions& options = {}) const override;
  std::string decode(const std::vector<TokenId>& ids, bool skip_special_tokens = false) const override;
  size_t vocab_size() const override { return vocab_size_; }
  std::optional<TokenId> token_to_id(std::string_view token) const override;
  std::optional<std::string> id_to_token(TokenId id) const override;
  bool is_special(TokenId id) const override;
  const SpecialTokenRoles& special_tokens() const override { return roles_; }
  bool decode_depends_on_next(TokenId id) const override;

  void set_special_tokens(SpecialTokenRoles roles) { roles_ = std::move(roles); }

 private:
  Pipeline pipeline_;
  AddedVocabulary added_;
  size_t vocab_size_ = 0;
  std::vector<bool> special_ids_;
  std::vector<bool> byte_fallback_ids_;  // only filled when the decoder decodes byte runs
  SpecialTokenRoles roles_;
};

// Builds the tokenizer from the parsed tokenizer.json. Throws Error(kCorruptInput) for a malformed file and
// Error(kUnsupported) for a model or component type that is not implemented.
std::unique_ptr<HfTokenizer> make_hf_tokenizer(const nlohmann::json& tokenizer_json);

}  // namespace torchllm::tokenizer::hf
