#include "engine/token_bytes.h"

#include <array>

namespace torchllm {
namespace {

// GPT-2's byte-level alphabet: printable bytes keep their code point, the others are numbered from U+0100.
struct ByteLevelInverse {
  std::array<int, 0x144> byte_of{};
  ByteLevelInverse() {
    byte_of.fill(-1);
    auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; };
    int next = 0x100;
    for (int b = 0; b < 256; ++b) byte_of[static_cast<size_t>(printable(b) ? b : next++)] = b;
  }
};

// Decodes one UTF-8 character at s[i]; -1 when malformed.
int32_t next_code_point(const std::string& s, size_t& i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const int length = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (length == 0 || i + length > s.size()) return -1;
  int32_t cp = length == 1 ? c : c & (0x7F >> length);
  for (int k = 1; k < length; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += static_cast<size_t>(length);
  return cp;
}

bool from_byte_level(const std::string& spelling, std::string& out) {
  static const ByteLevelInverse inverse;
  out.clear();
  for (size_t i = 0; i < spelling.size();) {
    const int32_t cp = next_code_point(spelling, i);
    if (cp < 0 || cp >= static_cast<int32_t>(inverse.byte_of.size()) ||
        inverse.byte_of[static_cast<size_t>(cp)] < 0)
      return false;
    out += static_cast<char>(inverse.byte_of[static_cast<size_t>(cp)]);
  }
  return true;
}

std::string from_sentencepiece(const std::string& piece) {
  // <0xNN>: a byte-fallback token.
  if (piece.size() == 6 && piece.compare(0, 3, "<0x") == 0 && piece[5] == '>') {
    return std::string(1, static_cast<char>(std::stoi(piece.substr(3, 2), nullptr, 16)));
  }
  static const std::string kSpace = "\xE2\x96\x81";  // ▁
  std::string out;
  for (size_t i = 0; i < piece.size();) {
    if (piece.compare(i, kSpace.size(), kSpace) == 0) {
      out += ' ';
      i += kSpace.size();
    } else {
      out += piece[i++];
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> token_bytes(const Tokenizer& tokenizer) {
  const size_t n = tokenizer.vocab_size();
  // A byte-level vocabulary spells the space as Ġ (U+0120), and that token decodes to a space.
  const std::optional<TokenId> space = tokenizer.token_to_id("\xC4\xA0");
  const bool byte_level = space && tokenizer.decode({*space}) == " ";
  std::vector<std::string> bytes(n);
  std::string converted;
  for (size_t id = 0; id < n; ++id) {
    const auto token = static_cast<TokenId>(id);
    if (tokenizer.is_special(token)) continue;
    const std::optional<std::string> spelling = tokenizer.id_to_token(token);
    if (!spelling || spelling->empty()) continue;
    if (byte_level) {
      // An added token is spelled as its text, which the alphabet cannot always map back.
      bytes[id] = from_byte_level(*spelling, converted) ? converted : tokenizer.decode({token});
    } else {
      bytes[id] = from_sentencepiece(*spelling);
    }
  }
  return bytes;
}

}  // namespace torchllm
