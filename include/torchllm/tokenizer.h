#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace torchllm {

using TokenId = int32_t;

// Which ids play which role. Read from tokenizer_config.json, generation_config.json and config.json next to
// the tokenizer; a role none of them names stays empty.
struct SpecialTokenRoles {
  std::optional<TokenId> bos;
  // Every id that ends a generation (Qwen3: <|im_end|> and <|endoftext|>; Llama 3.1: three). The tokenizer's
  // own eos_token comes first when it has one.
  std::vector<TokenId> eos;
  std::optional<TokenId> pad;
  std::optional<TokenId> unk;
  // tokenizer_config.json's add_bos_token when it says; otherwise whether encode() itself puts BOS first.
  bool add_bos = false;

  bool is_eos(TokenId id) const;
};

struct EncodeOptions {
  // Let the post-processor add its special tokens (BOS for Llama); Hugging Face's add_special_tokens.
  bool add_special_tokens = true;
  // Treat special-token text in the input as plain text, so that e.g. user content cannot inject
  // "<|im_end|>"; Hugging Face's split_special_tokens.
  bool split_special_tokens = false;
};

// Text to ids and back. Implementations are immutable after loading and safe to use from several threads.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Input that is not valid UTF-8 is read with each invalid sequence replaced by U+FFFD (as Python's
  // bytes.decode(errors="replace") and the WHATWG decoder do), never rejected.
  virtual std::vector<TokenId> encode(std::string_view text, const EncodeOptions& options = {}) const = 0;
  // Ids the tokenizer does not know are skipped, as Hugging Face does.
  virtual std::string decode(const std::vector<TokenId>& ids, bool skip_special_tokens = false) const = 0;

  // Distinct tokens, the model's vocabulary plus added tokens (Hugging Face's get_vocab_size(True)).
  virtual size_t vocab_size() const = 0;
  virtual std::optional<TokenId> token_to_id(std::string_view token) const = 0;
  virtual std::optional<std::string> id_to_token(TokenId id) const = 0;
  // Special tokens are the ones decode(..., skip_special_tokens = true) leaves out.
  virtual bool is_special(TokenId id) const = 0;
  virtual const SpecialTokenRoles& special_tokens() const = 0;

  // True when ids that come later can still change the text decoded for `id` (a byte-fallback byte, whose run
  // is decoded as a whole); StreamDecoder holds such ids back.
  virtual bool decode_depends_on_next(TokenId id) const = 0;
};

// Loads a tokenizer from a model directory (its tokenizer.json, or else its SentencePiece tokenizer.model) or
// from the path of a tokenizer.json or a .model file; the special-token roles come from the JSON files in the
// same directory. Throws torchllm::Error: kNotFound, kCorruptInput, or kUnsupported naming the component type
// that is not implemented.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

// Turns ids that arrive one at a time into text. It emits text only once it is complete UTF-8 and no later id
// can change it, so that the concatenation of everything push() and finish() return equals
// tokenizer.decode(all ids, skip_special_tokens) -- including SentencePiece's leading-space rules.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = false);

  // The text that `id` completes; often empty (an incomplete character, a byte-fallback run still open).
  std::string push(TokenId id);
  // Everything still held back (an incomplete UTF-8 sequence at the end decodes to U+FFFD); the decoder can
  // then be reused for a new sequence.
  std::string finish();

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_tokens_;
  // ids_[0, context_end_) were already emitted and are kept as context, so that decoding ids_ reproduces the
  // spaces the full decode puts between them and the ids after them.
  std::vector<TokenId> ids_;
  size_t context_end_ = 0;
  std::string context_text_;
};

}  // namespace torchllm
