#include "torchllm/chat_prompt.h"

#include <algorithm>
#include <string_view>

#include "torchllm/error.h"
#include "torchllm/json_file.h"

namespace torchllm {
namespace {

// Message text that could become a special token is swapped for a sentinel before rendering: a code point of
// Supplementary Private Use Area-A, which no template writes. A message's own characters from that range are
// swapped too (for sentinels that stand for themselves), so every such character in the rendered text is
// ours.
constexpr uint32_t kSentinelFirst = 0xF0000;
constexpr uint32_t kSentinelLast = 0xFFFFD;
constexpr size_t kSentinelBytes = 4;

std::string utf8_of_sentinel(uint32_t cp) {
  return {static_cast<char>(0xF0 | (cp >> 18)), static_cast<char>(0x80 | ((cp >> 12) & 0x3F)),
          static_cast<char>(0x80 | ((cp >> 6) & 0x3F)), static_cast<char>(0x80 | (cp & 0x3F))};
}

// The sentinel code point starting at text[i], or 0.
uint32_t sentinel_at(std::string_view text, size_t i) {
  if (i + kSentinelBytes > text.size() || static_cast<unsigned char>(text[i]) != 0xF3) return 0;
  uint32_t cp = 3u << 18;
  for (size_t k = 1; k < kSentinelBytes; ++k) {
    const auto byte = static_cast<unsigned char>(text[i + k]);
    if ((byte & 0xC0) != 0x80) return 0;
    cp |= static_cast<uint32_t>(byte & 0x3F) << (6 * (3 - k));
  }
  return cp >= kSentinelFirst && cp <= kSentinelLast ? cp : 0;
}

// Length of the special token spelled at text[i] (the longest, as the tokenizer matches), or 0.
size_t special_at(const std::vector<std::string>& specials, std::string_view text, size_t i) {
  for (const std::string& special : specials) {  // longest first
    if (text.compare(i, special.size(), special) == 0) return special.size();
  }
  return 0;
}

// One render's sentinels: which text each stands for.
class SentinelTable {
 public:
  explicit SentinelTable(const std::vector<std::string>& specials) : specials_(specials) {
    for (const std::string& s : specials_) first_bytes_[static_cast<unsigned char>(s[0])] = true;
  }

  std::string protect(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
      size_t n = first_bytes_[static_cast<unsigned char>(text[i])] ? special_at(specials_, text, i) : 0;
      if (n == 0 && sentinel_at(text, i) != 0) n = kSentinelBytes;
      if (n == 0) {
        out += text[i++];
        continue;
      }
      out += sentinel_for(std::string(text.substr(i, n)));
      i += n;
    }
    return out;
  }

  // Every string value under `value` (object keys and message roles stay as they are).
  void protect_strings(nlohmann::ordered_json& value, bool is_message = false) {
    if (value.is_string()) {
      value = protect(value.get_ref<const std::string&>());
    } else if (value.is_array()) {
      for (auto& item : value) protect_strings(item);
    } else if (value.is_object()) {
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (is_message && it.key() == "role") continue;
        protect_strings(it.value());
      }
    }
  }

  // text with each sentinel replaced by what it stands for.
  std::string restore(std::string_view text) const {
    std::string out;
    for (size_t i = 0; i < text.size();) {
      if (uint32_t cp = sentinel_at(text, i); cp != 0 && cp - kSentinelFirst < originals_.size()) {
        out += originals_[cp - kSentinelFirst];
        i += kSentinelBytes;
      } else {
        out += text[i++];
      }
    }
    return out;
  }

  bool empty() const { return originals_.empty(); }

 private:
  std::string sentinel_for(const std::string& original) {
    auto it = std::find(originals_.begin(), originals_.end(), original);
    if (it == originals_.end()) {
      if (originals_.size() > kSentinelLast - kSentinelFirst) {
        throw Error::invalid_argument("the messages contain too many distinct special-token spellings");
      }
      it = originals_.insert(originals_.end(), original);
    }
    return utf8_of_sentinel(kSentinelFirst + static_cast<uint32_t>(it - originals_.begin()));
  }

  const std::vector<std::string>& specials_;
  bool first_bytes_[256] = {};
  std::vector<std::string> originals_;
};

}  // namespace

std::vector<TokenId> encode_chat_prompt(const Tokenizer& tokenizer, const std::string& rendered_prompt) {
  EncodeOptions options;
  options.add_special_tokens = false;
  return tokenizer.encode(rendered_prompt, options);
}

ChatPromptEncoder::ChatPromptEncoder(const Tokenizer& tokenizer, const ChatTemplate& chat_template)
    : tokenizer_(tokenizer), template_(chat_template) {
  // Ids may have holes past the model vocabulary (added tokens), so look a little beyond vocab_size.
  const auto limit = static_cast<TokenId>(tokenizer.vocab_size() + 1024);
  EncodeOptions plain;
  plain.add_special_tokens = false;
  for (TokenId id = 0; id < limit; ++id) {
    if (!tokenizer.is_special(id)) continue;
    std::optional<std::string> text = tokenizer.id_to_token(id);
    // Only the spellings the tokenizer turns into the token matter (SentencePiece never does).
    if (!text || text->empty() || tokenizer.encode(*text, plain) != std::vector<TokenId>{id}) continue;
    special_texts_.push_back(*text);
  }
  std::sort(special_texts_.begin(), special_texts_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::vector<TokenId> ChatPromptEncoder::encode(const nlohmann::ordered_json& messages,
                                               const ChatRenderOptions& options) const {
  SentinelTable sentinels(special_texts_);
  nlohmann::ordered_json protected_messages = messages;
  if (protected_messages.is_array()) {
    for (auto& message : protected_messages) sentinels.protect_strings(message, /*is_message=*/true);
  }
  ChatRenderOptions protected_options = options;
  sentinels.protect_strings(protected_options.tools);
  sentinels.protect_strings(protected_options.kwargs);
  const std::string rendered = template_.render(protected_messages, protected_options);
  if (sentinels.empty()) return encode_chat_prompt(tokenizer_, rendered);

  // The tokenizer splits its input at special tokens before anything else, so the text between two of the
  // template's special tokens is tokenized on its own either way. A stretch holding a sentinel is encoded
  // with its original text and special tokens off; everything else as the template wrote it.
  std::vector<TokenId> ids;
  EncodeOptions split;
  split.add_special_tokens = false;
  split.split_special_tokens = true;
  auto append = [&ids](const std::vector<TokenId>& more) { ids.insert(ids.end(), more.begin(), more.end()); };
  const std::string_view text = rendered;
  size_t normal_start = 0;  // start of the text not yet encoded
  size_t gap_start = 0;     // start of the text after the last special token
  bool gap_protected = false;
  auto close_gap = [&](size_t end) {
    if (gap_protected) {
      if (gap_start > normal_start) {
        append(
            encode_chat_prompt(tokenizer_, std::string(text.substr(normal_start, gap_start - normal_start))));
      }
      append(tokenizer_.encode(sentinels.restore(text.substr(gap_start, end - gap_start)), split));
      normal_start = end;
    }
    gap_protected = false;
  };
  for (size_t i = 0; i < text.size();) {
    if (size_t n = special_at(special_texts_, text, i); n != 0) {
      close_gap(i);
      i += n;
      gap_start = i;
    } else if (sentinel_at(text, i) != 0) {
      gap_protected = true;
      i += kSentinelBytes;
    } else {
      ++i;
    }
  }
  close_gap(text.size());
  if (normal_start < text.size())
    append(encode_chat_prompt(tokenizer_, std::string(text.substr(normal_start))));
  return ids;
}

std::map<std::string, std::string> chat_template_special_tokens(const std::string& model_dir) {
  return ChatTemplate::special_tokens_in_model_dir(model_dir);
}

ChatTemplate load_chat_template(const std::string& model_dir) {
  std::optional<std::string> source = ChatTemplate::find_in_model_dir(model_dir);
  return ChatTemplate(source ? *source : std::string(ChatTemplate::chatml_source()),
                      chat_template_special_tokens(model_dir));
}

}  // namespace torchllm
