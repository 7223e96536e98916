#include "tokenizer/hf/byte_level_alphabet.h"

#include <array>

#include "tokenizer/utf8.h"

namespace torchllm::tokenizer::hf {
namespace {

struct Alphabet {
  std::array<char32_t, 256> character_of_byte{};
  std::array<std::string, 256> utf8_of_byte;
  std::array<int, 0x144> byte_of{};

  Alphabet() {
    byte_of.fill(-1);
    // Printable bytes keep their own code point; the others are numbered from U+0100 in byte order.
    auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE); };
    char32_t next_extra = 0x100;
    for (int b = 0; b < 256; ++b) {
      const char32_t c = printable(b) ? static_cast<char32_t>(b) : next_extra++;
      character_of_byte[b] = c;
      utf8_of_byte[b] = utf8_of(c);
      byte_of[c] = b;
    }
  }
};

const Alphabet& alphabet() {
  static const Alphabet instance;
  return instance;
}

}  // namespace

void append_byte_level(std::string& out, std::string_view bytes) {
  const Alphabet& a = alphabet();
  const size_t start = out.size();
  out.resize(start + bytes.size() * 2);
  char* write = out.data() + start;
  for (char b : bytes) {
    const std::string& c = a.utf8_of_byte[static_cast<unsigned char>(b)];
    write[0] = c[0];
    if (c.size() == 2) write[1] = c[1];
    write += c.size();
  }
  out.resize(static_cast<size_t>(write - out.data()));
}

int byte_of_character(char32_t c) { return c < 0x144 ? alphabet().byte_of[c] : -1; }

}  // namespace torchllm::tokenizer::hf
