#include "sampling/grammar/regex_gbnf.h"

#include <cstdio>
#include <vector>

#include "sampling/grammar/utf8_ranges.h"
#include "torchllm/error.h"

namespace torchllm::grammar {
namespace {

std::string hex_escape(uint32_t cp) {
  char buffer[16];
  if (cp <= 0xFF) {
    std::snprintf(buffer, sizeof buffer, "\\x%02X", cp);
  } else if (cp <= 0xFFFF) {
    std::snprintf(buffer, sizeof buffer, "\\u%04X", cp);
  } else {
    std::snprintf(buffer, sizeof buffer, "\\U%08X", cp);
  }
  return buffer;
}

// A code point inside a GBNF class.
std::string class_char(uint32_t cp) {
  if (cp < 0x20 || cp == '\\' || cp == ']' || cp == '[' || cp == '-' || cp == '^' || cp == '"' || cp >= 0x7F)
    return hex_escape(cp);
  return std::string(1, static_cast<char>(cp));
}

class RegexParser {
 public:
  RegexParser(const std::string& pattern, const std::string& char_rule)
      : p_(pattern), char_rule_(char_rule) {}

  std::string parse() {
    bool anchored_start = false, anchored_end = false;
    if (!p_.empty() && p_[0] == '^') {
      anchored_start = true;
      ++pos_;
    }
    std::string body = alternatives();
    if (pos_ < p_.size() && p_[pos_] == '$') {
      anchored_end = true;
      ++pos_;
    }
    if (pos_ != p_.size()) fail("unexpected '" + std::string(1, p_[pos_]) + "'");
    std::string out = "(" + body + ")";
    if (!anchored_start) out = char_rule_ + "* " + out;
    if (!anchored_end) out += " " + char_rule_ + "*";
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw Error::invalid_argument("pattern '" + p_ + "': " + message);
  }
  [[noreturn]] void unsupported(const std::string& what) const {
    throw Error::unsupported("pattern '" + p_ + "': " + what + " is not supported in structured outputs");
  }

  bool more() const { return pos_ < p_.size(); }

  std::string alternatives() {
    std::string out = sequence();
    while (more() && p_[pos_] == '|') {
      ++pos_;
      out += " | " + sequence();
    }
    return out;
  }

  std::string sequence() {
    std::string out;
    while (more() && p_[pos_] != '|' && p_[pos_] != ')') {
      if (p_[pos_] == '$' && pos_ + 1 == p_.size()) break;
      std::string item = atom();
      item = quantified(item);
      if (!out.empty()) out += " ";
      out += item;
    }
    return out.empty() ? "\"\"" : out;
  }

  std::string quantified(const std::string& item) {
    if (!more()) return item;
    const char c = p_[pos_];
    std::string out;
    if (c == '*' || c == '+' || c == '?') {
      ++pos_;
      out = "(" + item + ")" + std::string(1, c);
    } else if (c == '{' && pos_ + 1 < p_.size() && std::isdigit(static_cast<unsigned char>(p_[pos_ + 1]))) {
      const size_t close = p_.find('}', pos_);
      if (close == std::string::npos) fail("unterminated {");
      out = "(" + item + ")" + p_.substr(pos_, close - pos_ + 1);
      pos_ = close + 1;
    } else {
      return item;
    }
    if (more() && (p_[pos_] == '?')) ++pos_;  // lazy: the same language
    if (more() && p_[pos_] == '+') unsupported("a possessive quantifier");
    return out;
  }

  // Code points as a JSON string's inside writes them: the safe ones as a class, a quote or a backslash as
  // their escapes.
  std::string set(const std::vector<CodePointRange>& ranges) {
    std::vector<CodePointRange> safe;
    bool quote = false, backslash = false;
    for (auto [lo, hi] : ranges) {
      if (lo <= '"' && '"' <= hi) quote = true;
      if (lo <= '\\' && '\\' <= hi) backslash = true;
    }
    const std::vector<CodePointRange> excluded = complement({{0, 0x1F}, {'"', '"'}, {'\\', '\\'}});
    // safe = ranges ∩ complement(unsafe)
    for (auto [lo, hi] : ranges) {
      for (auto [a, b] : excluded) {
        const uint32_t s = std::max(lo, a), e = std::min(hi, b);
        if (s <= e) safe.emplace_back(s, e);
      }
    }
    std::vector<std::string> parts;
    if (!safe.empty()) {
      std::string cls = "[";
      for (auto [lo, hi] : safe) cls += lo == hi ? class_char(lo) : class_char(lo) + "-" + class_char(hi);
      parts.push_back(cls + "]");
    }
    if (quote) parts.push_back("\"\\\\\\\"\"");
    if (backslash) parts.push_back("\"\\\\\\\\\"");
    if (parts.empty()) fail("a class that matches no character a JSON string can hold");
    if (parts.size() == 1) return parts[0];
    std::string out = "(";
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? " | " : "") + parts[i];
    return out + ")";
  }

  static std::vector<CodePointRange> shorthand(char c, bool* known) {
    *known = true;
    switch (c) {
      case 'd':
        return {{'0', '9'}};
      case 'D':
        return complement({{'0', '9'}});
      case 'w':
        return {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
      case 'W':
        return complement({{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}});
      case 's':
        return {{' ', ' '}, {'\t', '\r'}};
      case 'S':
        return complement({{' ', ' '}, {'\t', '\r'}});
      default:
        *known = false;
        return {};
    }
  }

  uint32_t utf8_char() {
    const auto c = static_cast<unsigned char>(p_[pos_]);
    const int length = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (length == 0 || pos_ + length > p_.size()) fail("invalid UTF-8");
    uint32_t cp = length == 1 ? c : c & (0x7F >> length);
    for (int i = 1; i < length; ++i) cp = (cp << 6) | (static_cast<unsigned char>(p_[pos_ + i]) & 0x3F);
    pos_ += length;
    return cp;
  }

  // After a backslash: one escaped code point (or a shorthand class through *ranges).
  uint32_t escape(std::vector<CodePointRange>* ranges) {
    if (!more()) fail("a trailing backslash");
    const char c = p_[pos_++];
    bool known = false;
    std::vector<CodePointRange> s = shorthand(c, &known);
    if (known) {
      if (!ranges) fail("a class shorthand inside a range");
      *ranges = s;
      return 0;
    }
    switch (c) {
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'f':
        return '\f';
      case 'v':
        return '\v';
      case 'u': {
        if (pos_ + 4 > p_.size()) fail("\\u needs 4 hex digits");
        const uint32_t cp = static_cast<uint32_t>(std::stoul(p_.substr(pos_, 4), nullptr, 16));
        pos_ += 4;
        return cp;
      }
      case 'x': {
        if (pos_ + 2 > p_.size()) fail("\\x needs 2 hex digits");
        const uint32_t cp = static_cast<uint32_t>(std::stoul(p_.substr(pos_, 2), nullptr, 16));
        pos_ += 2;
        return cp;
      }
      case 'b':
      case 'B':
        unsupported("a word boundary");
      default:
        if (std::isdigit(static_cast<unsigned char>(c))) unsupported("a backreference");
        if (std::isalnum(static_cast<unsigned char>(c))) unsupported(std::string("the escape \\") + c);
        return static_cast<unsigned char>(c);
    }
  }

  std::string atom() {
    const char c = p_[pos_];
    if (c == '(') {
      ++pos_;
      if (more() && p_[pos_] == '?') {
        if (pos_ + 1 < p_.size() && p_[pos_ + 1] == ':') {
          pos_ += 2;
        } else {
          unsupported("lookaround and named or flagged groups");
        }
      }
      std::string inner = alternatives();
      if (!more() || p_[pos_] != ')') fail("missing ')'");
      ++pos_;
      return "(" + inner + ")";
    }
    if (c == '[') return char_class();
    if (c == '.') {
      ++pos_;
      return set(complement({{'\n', '\n'}}));
    }
    if (c == '^' || c == '$') unsupported("an anchor inside the expression");
    if (c == '*' || c == '+' || c == '?' || c == '{') fail("nothing to repeat");
    if (c == '\\') {
      ++pos_;
      std::vector<CodePointRange> ranges;
      const uint32_t cp = escape(&ranges);
      if (!ranges.empty()) return set(ranges);
      return set({{cp, cp}});
    }
    const uint32_t cp = utf8_char();
    return set({{cp, cp}});
  }

  std::string char_class() {
    ++pos_;  // [
    bool negated = false;
    if (more() && p_[pos_] == '^') {
      negated = true;
      ++pos_;
    }
    std::vector<CodePointRange> ranges;
    bool first = true;
    while (more() && (p_[pos_] != ']' || first)) {
      first = false;
      uint32_t lo;
      if (p_[pos_] == '\\') {
        ++pos_;
        std::vector<CodePointRange> s;
        lo = escape(&s);
        if (!s.empty()) {
          ranges.insert(ranges.end(), s.begin(), s.end());
          continue;
        }
      } else {
        lo = utf8_char();
      }
      uint32_t hi = lo;
      if (pos_ + 1 < p_.size() && p_[pos_] == '-' && p_[pos_ + 1] != ']') {
        ++pos_;
        if (p_[pos_] == '\\') {
          ++pos_;
          hi = escape(nullptr);
        } else {
          hi = utf8_char();
        }
        if (hi < lo) fail("a class range whose end comes before its start");
      }
      ranges.emplace_back(lo, hi);
    }
    if (!more()) fail("unterminated [");
    ++pos_;
    return set(negated ? complement(ranges) : ranges);
  }

  const std::string& p_;
  const std::string& char_rule_;
  size_t pos_ = 0;
};

}  // namespace

std::string regex_to_gbnf(const std::string& pattern, const std::string& char_rule) {
  return RegexParser(pattern, char_rule).parse();
}

}  // namespace torchllm::grammar

namespace torchllm {

std::string gbnf_literal(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      out += grammar::hex_escape(c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace torchllm
