#pragma once

#include <memory>
#include <string>
#include <vector>

#include "torchllm/tokenizer.h"

struct TorchllmSpmApi;

namespace torchllm::tokenizer {

// A SentencePiece tokenizer.model, run by libsentencepiece inside the shim libtorchllm_spm.so (see
// sentencepiece/spm_shim_api.h for why it is a separately loaded library).
//
// As Hugging Face's LlamaTokenizer: encode() puts BOS first when add_bos_token says so (default: when the
// model has a BOS piece) and EOS last when add_eos_token does (default: no). SentencePiece never reads
// control tokens out of the text -- "<s>" in the input is encoded as the characters '<', 's', '>' -- so text
// cannot inject them and split_special_tokens changes nothing. Control and unknown pieces are the special
// tokens; decode() without skip_special_tokens writes them as their piece text ("<s>"), which keeps the space
// of the piece after them.
class SentencePieceTokenizer : public Tokenizer {
 public:
  // Throws torchllm::Error: kNotFound when the shim or the file is missing, kCorruptInput when SentencePiece
  // cannot read the file.
  static std::unique_ptr<SentencePieceTokenizer> load(const std::string& model_path);
  ~SentencePieceTokenizer() override;

  std::vector<TokenId> encode(std::string_view text, const EncodeOptions& options = {}) const override;
  std::string decode(const std::vector<TokenId>& ids, bool skip_special_tokens = false) const override;
  size_t vocab_size() const override;
  std::optional<TokenId> token_to_id(std::string_view token) const override;
  std::optional<std::string> id_to_token(TokenId id) const override;
  bool is_special(TokenId id) const override;
  const SpecialTokenRoles& special_tokens() const override { return roles_; }
  bool decode_depends_on_next(TokenId id) const override;

  // Roles from tokenizer_config.json, generation_config.json and config.json; a role they leave empty keeps
  // the model's own id. add_bos / add_eos: tokenizer_config.json's add_bos_token / add_eos_token, where
  // given.
  void set_special_tokens(SpecialTokenRoles roles, std::optional<bool> add_bos, bool add_eos);

 private:
  SentencePieceTokenizer(const TorchllmSpmApi& api, void* model, const std::string& path);

  const TorchllmSpmApi& api_;
  void* model_;
  std::string path_;
  TokenId vocab_size_;
  SpecialTokenRoles roles_;
  bool add_eos_ = false;
};

// The path the shim was loaded from (loading it on first use); for messages and tests.
std::string sentencepiece_shim_path();

}  // namespace torchllm::tokenizer
