#include "test_corpus.h"

#include <cstdint>
#include <cstdio>
#include <stdexcept>

#include "tokenizer/utf8.h"

namespace torchllm::tokenizer::testing {
namespace {

class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() {  // splitmix64
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }
  bool chance(int percent) { return below(100) < static_cast<size_t>(percent); }
  template <class T>
  const T& pick(const std::vector<T>& items) {
    return items[below(items.size())];
  }

 private:
  uint64_t state_;
};

std::string code_points_between(Random& random, char32_t first, char32_t last, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i)
    append_utf8(out, first + static_cast<char32_t>(random.below(last - first + 1)));
  return out;
}

std::vector<std::string> split_on_spaces(const std::string& text) {
  std::vector<std::string> words;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find(' ', start);
    words.push_back(text.substr(start, end - start));
    start = end == std::string::npos ? text.size() : end + 1;
  }
  return words;
}

const std::vector<std::string> kWords = split_on_spaces(
    "the of and to in is that for it as was with be by on not he I this are or his from at which but "
    "have an had they you were their one all we can her has there been if more when will would who so no "
    "tokenizer model weights tensor inference Hello World The A Transformer attention quickly brown fox "
    "jumps over lazy dog naïve café résumé coöperate Zürich don't it's We'll they're I've you'd I'm IT'S "
    "WE'LL O'Neil rock'n'roll e-mail co-operate state-of-the-art U.S.A. Mr. e.g. i.e. "
    "antidisestablishmentarianism supercalifragilisticexpialidocious pneumonoultramicroscopic HTTPServer "
    "getElementById snake_case_name CamelCaseName ALLCAPS x86_64 UTF-8 GPT-4o");

const std::vector<std::string> kPunctuation = {".",  ",",  "!", "?",  ";", ":",  "...", " -",
                                               " —", " (", ")", "\"", "'", "?!", "!!!", " …",
                                               "…",  " /", "«", "»",  "“", "”",  "‘",   "’"};

std::string prose(Random& random) {
  std::string out;
  const size_t sentences = 1 + random.below(4);
  for (size_t s = 0; s < sentences; ++s) {
    const size_t words = 3 + random.below(14);
    for (size_t w = 0; w < words; ++w) {
      std::string word = random.pick(kWords);
      if (w == 0 && word[0] >= 'a' && word[0] <= 'z') word[0] = static_cast<char>(word[0] - 32);
      if (w > 0) out += random.chance(4) ? "  " : " ";
      out += word;
      if (random.chance(12)) out += random.pick(kPunctuation);
    }
    out += random.chance(80) ? "." : random.pick(kPunctuation);
    if (s + 1 < sentences) out += random.chance(20) ? "\n" : " ";
  }
  return out;
}

const std::vector<std::string> kCode = {
    "#include <vector>\n\nint main(int argc, char** argv) {\n  std::vector<int> v{1, 2, 3};\n  return "
    "v.size();\n}\n",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "for (let i = 0; i < 10; i++) {\n\tconsole.log(`value: ${i}`);\n}\n",
    "SELECT id, name FROM users WHERE age >= 18 AND name LIKE '%smith%';",
    "if (x != nullptr && x->next) { x = x->next; } else { return -1; }",
    "    x += 1\r\n    y -= 2\r\n    return x * y // 3\r\n",
    "fn main() -> Result<(), Box<dyn Error>> {\n    println!(\"{:?}\", vec![1u8, 2, 3]);\n    Ok(())\n}\n",
    "<div class=\"row\"><span id='a1'>&nbsp;Hi&amp;bye</span></div>",
    "$ ls -la /usr/local/bin | grep -E '^d' && echo \"done\" > /dev/null 2>&1",
    "a=[x**2 for x in range(100) if x%3==0]; print(sum(a), max(a), a[-1])",
    "template <typename T> constexpr auto square(T v) noexcept -> T { return v * v; }",
    "\t\tcase 0x7F: return '\\x7f';\n\t\tdefault: break;\n",
    "// TODO(someone): fix this\n/* block\n * comment */\n#define MAX(a, b) ((a) > (b) ? (a) : (b))\n"};

std::string code(Random& random) {
  std::string out = random.pick(kCode);
  if (random.chance(40)) out += random.pick(kCode);
  if (random.chance(30)) out.insert(0, std::string(random.below(9), random.chance(50) ? ' ' : '\t'));
  return out;
}

std::string json_value(Random& random, int depth);

std::string json_string(Random& random) {
  static const std::vector<std::string> strings = {"\"hello\"",
                                                   "\"with \\\"quotes\\\"\"",
                                                   "\"tab\\tnewline\\n\"",
                                                   "\"\\u00e9\\u4e2d\"",
                                                   "\"emoji 😀\"",
                                                   "\"path\\\\to\\\\file\"",
                                                   "\"\"",
                                                   "\"日本語\"",
                                                   "\"a b  c\""};
  return random.pick(strings);
}

std::string json_value(Random& random, int depth) {
  switch (depth > 2 ? random.below(3) : random.below(5)) {
    case 0:
      return json_string(random);
    case 1:
      return std::to_string(static_cast<int64_t>(random.next() % 2000001) - 1000000);
    case 2:
      return random.chance(50) ? "true" : (random.chance(50) ? "null" : "3.14159e-10");
    case 3: {
      std::string out = "[";
      const size_t n = random.below(4);
      for (size_t i = 0; i < n; ++i) out += (i ? ", " : "") + json_value(random, depth + 1);
      return out + "]";
    }
    default: {
      static const std::vector<std::string> keys = {"id",   "name",       "value", "items",
                                                    "type", "created_at", "ok"};
      std::string out = "{";
      const size_t n = 1 + random.below(3);
      for (size_t i = 0; i < n; ++i) {
        out += (i ? ", \"" : "\"") + random.pick(keys) + "\": " + json_value(random, depth + 1);
      }
      return out + "}";
    }
  }
}

std::string cjk(Random& random) {
  static const std::vector<std::string> phrases = {"你好，世界！",
                                                   "我们今天去公园散步。",
                                                   "机器学习模型需要大量数据。",
                                                   "東京は日本の首都です。",
                                                   "ひらがなとカタカナ",
                                                   "한국어 문장입니다.",
                                                   "「引用」と『二重引用』",
                                                   "ＡＢＣ１２３（全角）",
                                                   "中文English混合",
                                                   "第一章　開始",
                                                   "漢字かな交じり文",
                                                   "價格：１２０元",
                                                   "𠀀𠀁𪚥 (CJK Ext B)",
                                                   "ｶﾀｶﾅ半角"};
  std::string out;
  const size_t n = 1 + random.below(4);
  for (size_t i = 0; i < n; ++i) {
    out += random.chance(70) ? random.pick(phrases)
                             : code_points_between(random, 0x4E00, 0x9FFF, 1 + random.below(8));
    if (random.chance(30)) out += random.chance(50) ? " " : "\n";
  }
  return out;
}

std::string rtl(Random& random) {
  static const std::vector<std::string> phrases = {
      "مرحبا بالعالم", "اللُّغَةُ العَرَبِيَّة",    "שלום עולם", "עִבְרִית",         "القاهرة ٢٠٢٤",
      "‏(RTL mark)", "كتاب، قلم؛ ورقة؟", "שָׁלוֹם",      "abc مختلط def", "ﷺ ﻻ"};
  std::string out;
  const size_t n = 1 + random.below(3);
  for (size_t i = 0; i < n; ++i) out += (i ? " " : "") + random.pick(phrases);
  return out;
}

std::string devanagari(Random& random) {
  static const std::vector<std::string> phrases = {"नमस्ते दुनिया", "हिन्दी भाषा", "क्षत्रिय", "श्री गणेशाय नमः",
                                                   "१२३४ रुपये",   "संस्कृतम्",      "ज़िंदगी",  "मराठी आणि नेपाली"};
  std::string out;
  const size_t n = 1 + random.below(3);
  for (size_t i = 0; i < n; ++i) out += (i ? (random.chance(50) ? " " : "। ") : "") + random.pick(phrases);
  return out;
}

std::string emoji(Random& random) {
  static const std::vector<std::string> items = {"😀",
                                                 "👍🏽",
                                                 "👨‍👩‍👧‍👦",
                                                 "🏳️‍🌈",
                                                 "🇯🇵",
                                                 "1️⃣",
                                                 "❤️",
                                                 "👩🏿‍💻",
                                                 "🧑‍🤝‍🧑",
                                                 "✋🏻",
                                                 "🤷‍♀️",
                                                 "⭐",
                                                 "🎉🎉🎉",
                                                 "🫠",
                                                 "™",
                                                 "©️"};
  std::string out;
  const size_t n = 1 + random.below(6);
  for (size_t i = 0; i < n; ++i) {
    if (random.chance(50)) out += random.pick(kWords) + " ";
    out += random.pick(items);
  }
  return out;
}

std::string combining(Random& random) {
  static const std::vector<std::string> items = {"é",
                                                 "e\xCC\x81",
                                                 "Å",
                                                 "A\xCC\x8A",
                                                 "ñ",
                                                 "n\xCC\x83",
                                                 "ệ",
                                                 "e\xCC\xA3\xCC\x82",
                                                 "ễ",
                                                 "e\xCC\x82\xCC\x83",
                                                 "ǘ",
                                                 "u\xCC\x88\xCC\x81",
                                                 "Ω",
                                                 "x\xCC\xB0\xCC\x88\xCC\x81",
                                                 "a\xCC\x81\xCC\x81\xCC\x81",
                                                 "ḱ",
                                                 "q\xCC\x87\xCC\xA3",
                                                 "Tiếng Việt",
                                                 "ﬁ ligature",
                                                 "Ⅻ",
                                                 "x²",
                                                 "ℌ𝔢𝔩𝔩𝔬",
                                                 "ﾊﾟ"};
  std::string out;
  const size_t n = 1 + random.below(6);
  for (size_t i = 0; i < n; ++i) out += random.pick(items) + (random.chance(40) ? " " : "");
  return out;
}

std::string digits(Random& random) {
  std::string out;
  const size_t n = 1 + random.below(4);
  for (size_t i = 0; i < n; ++i) {
    const size_t length = 1 + random.below(random.chance(20) ? 200 : 12);
    for (size_t d = 0; d < length; ++d) out.push_back(static_cast<char>('0' + random.below(10)));
    static const std::vector<std::string> joins = {" ",   ".",    ",", "-", "abc", "\n",
                                                   "٣٤٥", "１２", "x", "%", " + "};
    if (i + 1 < n) out += random.pick(joins);
  }
  return out;
}

std::string white_space(Random& random) {
  static const std::vector<std::string> spaces = {" ",
                                                  "  ",
                                                  "\t",
                                                  "\n",
                                                  "\n\n",
                                                  "\r\n",
                                                  "\r",
                                                  "\v",
                                                  "\f",
                                                  "\xC2\xA0",
                                                  "\xE3\x80\x80",
                                                  "\xC2\x85",
                                                  "\xE2\x80\xA8",
                                                  "\xE1\xA0\x8E",
                                                  "\xEF\xBB\xBF",
                                                  "\xE2\x80\x8B",
                                                  "\xE2\x80\x83"};
  std::string out;
  const size_t n = 1 + random.below(8);
  for (size_t i = 0; i < n; ++i) {
    const std::string& space = random.pick(spaces);
    const size_t repeat = 1 + random.below(random.chance(20) ? 40 : 4);
    for (size_t r = 0; r < repeat; ++r) out += space;
    if (random.chance(60)) out += random.pick(kWords);
  }
  return out;
}

const std::vector<std::string> kSpecialTexts = {"<|im_start|>",
                                                "<|im_end|>",
                                                "<|endoftext|>",
                                                "<|begin_of_text|>",
                                                "<|end_of_text|>",
                                                "<|eot_id|>",
                                                "<|start_header_id|>",
                                                "<|end_header_id|>",
                                                "<s>",
                                                "</s>",
                                                "<unk>",
                                                "<pad>",
                                                "<bos>",
                                                "<eos>",
                                                "<start_of_turn>",
                                                "<end_of_turn>",
                                                "<｜begin▁of▁sentence｜>",
                                                "<｜end▁of▁sentence｜>",
                                                "<｜User｜>",
                                                "<｜Assistant｜>",
                                                "<|start|>",
                                                "<|end|>",
                                                "<|return|>",
                                                "<|message|>",
                                                "<|channel|>",
                                                "<think>",
                                                "</think>",
                                                "<tool_call>",
                                                "[INST]",
                                                "[/INST]",
                                                "<|im_",
                                                "<|im_end",
                                                "im_end|>",
                                                "<|<|im_end|>|>",
                                                "<mask>",
                                                "<unused0>",
                                                "<|fim_prefix|>",
                                                "<|reserved_special_token_5|>"};

std::string special(Random& random) {
  std::string out;
  const size_t n = 1 + random.below(5);
  for (size_t i = 0; i < n; ++i) {
    if (random.chance(70)) out += random.chance(50) ? random.pick(kWords) : prose(random);
    if (random.chance(30)) out += random.pick(std::vector<std::string>{" ", "\n", "  "});
    out += random.pick(kSpecialTexts);
    if (random.chance(30)) out += random.pick(std::vector<std::string>{" ", "\n", "user\n"});
  }
  return out;
}

std::string invalid_utf8(Random& random) {
  static const std::vector<std::string> bad = {"\xFF",
                                               "\xFE\xFE",
                                               "\xC0\xAF",
                                               "\xE0\x80\xAF",
                                               "\xED\xA0\x80",
                                               "\xED\xBF\xBF",
                                               "\xF4\x90\x80\x80",
                                               "\xF5",
                                               "\x80",
                                               "\xBF\xBF",
                                               "\xC3",
                                               "\xE4\xBD",
                                               "\xF0\x9F\x98",
                                               "\xC3\x28",
                                               "\xE2\x28\xA1",
                                               "\xF8\x88\x80\x80\x80"};
  std::string out;
  const size_t n = 1 + random.below(5);
  for (size_t i = 0; i < n; ++i) {
    if (random.chance(60)) out += random.pick(kWords);
    if (random.chance(40)) out += " ";
    if (random.chance(70)) {
      out += random.pick(bad);
    } else {
      for (size_t b = random.below(4) + 1; b > 0; --b)
        out.push_back(static_cast<char>(0x80 + random.below(128)));
    }
    if (random.chance(30)) out += "中文";
  }
  return out;
}

std::string mixed(Random& random) {
  struct Block {
    char32_t first, last;
  };
  static const std::vector<Block> blocks = {
      {0x20, 0x7E},     {0xA0, 0x24F},    {0x370, 0x3FF},       {0x400, 0x4FF},     {0x530, 0x58F},
      {0x600, 0x6FF},   {0x900, 0x97F},   {0xE00, 0xE7F},       {0x10A0, 0x10FF},   {0x1100, 0x11FF},
      {0x2000, 0x206F}, {0x2190, 0x22FF}, {0x2500, 0x257F},     {0x3040, 0x30FF},   {0xAC00, 0xD7A3},
      {0xE000, 0xE0FF}, {0xFF00, 0xFFEF}, {0x1D400, 0x1D7FF},   {0x1F300, 0x1FAFF}, {0x1, 0x1F},
      {0x2581, 0x2581}, {0xFFFD, 0xFFFD}, {0x10FFF0, 0x10FFFF}, {0xE0000, 0xE007F}};
  std::string out;
  const size_t n = 1 + random.below(6);
  for (size_t i = 0; i < n; ++i) {
    const Block& block = random.pick(blocks);
    out += code_points_between(random, block.first, block.last, 1 + random.below(10));
  }
  return out;
}

// Code points assigned in Unicode 15.0 to 16.0 (Hugging Face tokenizers knows 16.0, Debian's PCRE2 14.0),
// next to letters, digits, spaces and punctuation so that the pre-tokenizers' \p{...} classes decide the
// splits.
std::string recent_unicode(Random& random) {
  struct Block {
    char32_t first, last;
  };
  static const std::vector<Block> blocks = {
      {0x2FFC, 0x2FFF},   {0x31EF, 0x31EF},    // ideographic description characters (So, 15.1)
      {0x2EBF0, 0x2EE5D}, {0x31350, 0x323AF},  // CJK extensions I (15.1) and H (15.0) (Lo)
      {0x1CC00, 0x1CCF9}, {0x1F8B0, 0x1F8BB},
      {0x1FAE9, 0x1FAE9},  // symbols (So) and outlined digits (Nd), 16.0
      {0x16D40, 0x16D79}, {0x11F00, 0x11F59},
      {0x1E4D0, 0x1E4F9},  // Kirat Rai (16.0), Kawi, Nag Mundari (15.0)
      {0x10D40, 0x10D8F}, {0x105C0, 0x105F3},
      {0x11BC0, 0x11BE1},                       // Garay, Todhri, Sunuwar (16.0)
      {0x1171E, 0x1171E}, {0x11F41, 0x11F42}};  // Mn became Mc (16.0); Kawi marks
  static const std::vector<std::string> glue = {" ", "a", "Z", "7", "!", "'s", ".", "\n", "  ", "x1"};
  std::string out;
  const size_t n = 1 + random.below(8);
  for (size_t i = 0; i < n; ++i) {
    if (random.chance(60)) out += random.pick(glue);
    const Block& block = random.pick(blocks);
    out += code_points_between(random, block.first, block.last, 1 + random.below(4));
  }
  return out;
}

std::vector<std::string> edge_cases() {
  std::vector<std::string> cases = {"",
                                    " ",
                                    "  ",
                                    "\n",
                                    "a",
                                    "\xE2\x96\x81",
                                    "\xE2\x96\x81Hello\xE2\x96\x81world",
                                    " leading space",
                                    "trailing space ",
                                    "   three leading",
                                    "'s",
                                    "'S'T'RE",
                                    "x's y'S z'\xC5\xBF w'\xE2\x84\xAA",
                                    "<0x41>",
                                    "<0xE4><0xBD><0xA0>",
                                    "\xEF\xBF\xBD",
                                    "a\xEF\xBF\xBD",
                                    std::string(1, '\0'),
                                    std::string("nul\0in middle", 13),
                                    "\x7F\x1B[31mred\x1B[0m",
                                    "Ġhello Ċ",
                                    "hello\xE2\x80\x8Dworld"};
  cases.push_back(std::string(3000, 'a'));
  cases.push_back(std::string(2000, ' '));
  cases.push_back(std::string(1500, '\n'));
  cases.push_back(std::string(1000, '!'));
  std::string long_word;
  for (int i = 0; i < 300; ++i) long_word += "ab";
  cases.push_back(long_word);
  std::string long_digits;
  for (int i = 0; i < 999; ++i) long_digits.push_back(static_cast<char>('0' + (i * 7) % 10));
  cases.push_back(long_digits);
  std::string cjk_run;
  for (int i = 0; i < 400; ++i) cjk_run += "的";
  cases.push_back(cjk_run);
  return cases;
}

}  // namespace

std::vector<CorpusEntry> make_test_corpus() {
  Random random(20240611);
  std::vector<CorpusEntry> corpus;
  for (const std::string& text : edge_cases()) corpus.push_back({"edge", text});
  struct Category {
    const char* name;
    std::string (*make)(Random&);
    int count;
  };
  const Category categories[] = {{"prose", prose, 420},
                                 {"code", code, 260},
                                 {"json", [](Random& r) { return json_value(r, 0); }, 220},
                                 {"cjk", cjk, 240},
                                 {"rtl", rtl, 160},
                                 {"devanagari", devanagari, 140},
                                 {"emoji", emoji, 200},
                                 {"combining", combining, 200},
                                 {"digits", digits, 220},
                                 {"white_space", white_space, 260},
                                 {"special", special, 300},
                                 {"invalid_utf8", invalid_utf8, 220},
                                 {"mixed", mixed, 240},
                                 {"recent_unicode", recent_unicode, 200}};
  for (const Category& category : categories) {
    for (int i = 0; i < category.count; ++i) corpus.push_back({category.name, category.make(random)});
  }
  // Concatenations: boundaries between categories.
  const size_t singles = corpus.size();
  for (int i = 0; i < 120; ++i) {
    const CorpusEntry& a = corpus[random.below(singles)];
    const CorpusEntry& b = corpus[random.below(singles)];
    corpus.push_back({"concatenated", a.text + (random.chance(50) ? " " : "") + b.text});
  }
  return corpus;
}

std::string fnv1a_hex(const std::string& bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  char out[17];
  std::snprintf(out, sizeof(out), "%016llx", static_cast<unsigned long long>(h));
  return out;
}

std::string to_hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string from_hex(const std::string& hex) {
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument("not a hex digit");
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(value(hex[i]) * 16 + value(hex[i + 1])));
  return out;
}

}  // namespace torchllm::tokenizer::testing
