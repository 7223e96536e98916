#include "tokenizer/utf8.h"
#include "torchllm/error.h"
#include "torchllm/tokenizer.h"

namespace torchllm {
namespace {

bool ends_with_replacement_character(const std::string& text) {
  return text.size() >= 3 && text.compare(text.size() - 3, 3, "\xEF\xBF\xBD") == 0;
}

}  // namespace

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer), skip_special_tokens_(skip_special_tokens) {}

// Decoding the window ids_ (already-emitted context + pending ids) and cutting off the context's own text
// gives the pending ids' text with the spacing the full decode gives them: decoders treat a sequence's first
// token specially (SentencePiece drops its leading space), and the context keeps the pending ids from being
// first.
std::string StreamDecoder::push(TokenId id) {
  // Ids that decode leaves out entirely would only make every later decode longer.
  if ((skip_special_tokens_ && tokenizer_.is_special(id)) || !tokenizer_.id_to_token(id)) return {};
  ids_.push_back(id);
  if (tokenizer_.decode_depends_on_next(id)) return {};
  std::string text = tokenizer_.decode(ids_, skip_special_tokens_);
  // A trailing U+FFFD is usually a character whose remaining bytes are still to come.
  if (text.size() <= context_text_.size() || ends_with_replacement_character(text)) return {};
  if (text.compare(0, context_text_.size(), context_text_) != 0) {
    throw Error::internal("streaming decode: the decoder changed text it had already produced");
  }
  std::string emitted = text.substr(context_text_.size());
  ids_.erase(ids_.begin(), ids_.begin() + static_cast<std::ptrdiff_t>(context_end_));
  context_end_ = ids_.size();
  context_text_ = tokenizer_.decode(ids_, skip_special_tokens_);
  return emitted;
}

std::string StreamDecoder::finish() {
  std::string text = tokenizer_.decode(ids_, skip_special_tokens_);
  std::string rest;
  if (text.size() > context_text_.size()) {
    if (text.compare(0, context_text_.size(), context_text_) != 0) {
      throw Error::internal("streaming decode: the decoder changed text it had already produced");
    }
    rest = text.substr(context_text_.size());
  }
  ids_.clear();
  context_end_ = 0;
  context_text_.clear();
  return rest;
}

}  // namespace torchllm
