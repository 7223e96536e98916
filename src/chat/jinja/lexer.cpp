#include "chat/jinja/lexer.h"

#include <algorithm>
#include <cstring>

#include "chat/jinja/unicode.h"

namespace torchllm::jinja {
namespace {

// Length of the Python-whitespace (\s) run starting at `pos` (UTF-8 aware).
size_t space_run(const std::string& s, size_t pos) {
  size_t end = pos;
  while (end < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[end]);
    if (c < 0x80) {
      if (!is_python_space(c)) break;
      ++end;
      continue;
    }
    const size_t len = (c >= 0xf0) ? 4 : (c >= 0xe0) ? 3 : 2;
    const auto cps = decode_utf8(s.substr(end, len));
    if (cps.size() != 1 || !is_python_space(cps[0])) break;
    end += len;
  }
  return end - pos;
}

std::string rstrip_python(const std::string& s) {
  auto cps = decode_utf8(s);
  while (!cps.empty() && is_python_space(cps.back())) cps.pop_back();
  return encode_utf8(cps);
}

bool all_python_space(const std::string& s) {
  if (s.empty()) return false;
  for (char32_t cp : decode_utf8(s)) {
    if (!is_python_space(cp)) return false;
  }
  return true;
}

// Python's "unicode-escape" decoding of a string literal's body.
std::string unescape(const std::string& body) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 == body.size()) {
      out.push_back(body[i]);
      continue;
    }
    const char c = body[++i];
    auto hex = [&](size_t digits) -> bool {
      if (i + digits >= body.size()) return false;
      char32_t cp = 0;
      for (size_t k = 1; k <= digits; ++k) {
        const char h = body[i + k];
        if (!std::isxdigit(static_cast<unsigned char>(h))) return false;
        cp = cp * 16 + static_cast<char32_t>(std::isdigit(static_cast<unsigned char>(h))
                                                 ? h - '0'
                                                 : (std::tolower(h) - 'a' + 10));
      }
      append_utf8(out, cp);
      i += digits;
      return true;
    };
    switch (c) {
      case '\n':
        break;
      case '\\':
        out.push_back('\\');
        break;
      case '\'':
        out.push_back('\'');
        break;
      case '"':
        out.push_back('"');
        break;
      case 'a':
        out.push_back('\a');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case 'x':
        if (!hex(2)) out += "\\x";
        break;
      case 'u':
        if (!hex(4)) out += "\\u";
        break;
      case 'U':
        if (!hex(8)) out += "\\U";
        break;
      default:
        if (c >= '0' && c <= '7') {
          char32_t cp = static_cast<char32_t>(c - '0');
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; ++k) {
            cp = cp * 8 + static_cast<char32_t>(body[++i] - '0');
          }
          append_utf8(out, cp);
        } else {
          out.push_back('\\');
          out.push_back(c);
        }
    }
  }
  return out;
}

bool starts_with(const std::string& s, size_t pos, const char* prefix) {
  return s.compare(pos, std::strlen(prefix), prefix) == 0;
}

bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

Lexer::Lexer(const std::string& source) {
  // Newlines normalized to \n, and one trailing newline dropped (keep_trailing_newline=False).
  src_.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      src_.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      src_.push_back(source[i]);
    }
  }
  if (!src_.empty() && src_.back() == '\n') src_.pop_back();
  tokenize();
}

std::pair<int, int> Lexer::position(size_t offset) const {
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset && i < src_.size(); ++i) {
    if (src_[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return {line, static_cast<int>(offset - line_start) + 1};
}

void Lexer::fail(const std::string& message, size_t offset) const {
  auto [line, column] = position(offset);
  throw TemplateError(message, line, column);
}

void Lexer::tokenize() {
  size_t pos = 0;
  while (pos < src_.size()) {
    size_t start = pos;
    while ((start = src_.find('{', start)) != std::string::npos) {
      if (start + 1 < src_.size() &&
          (src_[start + 1] == '{' || src_[start + 1] == '%' || src_[start + 1] == '#'))
        break;
      ++start;
    }
    if (start == std::string::npos) {
      tokens_.push_back({Token::Type::kText, src_.substr(pos), pos});
      break;
    }
    const char kind = src_[start + 1];
    const char sign =
        start + 2 < src_.size() && (src_[start + 2] == '-' || src_[start + 2] == '+') ? src_[start + 2] : 0;
    std::string text = src_.substr(pos, start - pos);
    if (sign == '-') {
      text = rstrip_python(text);
    } else if (sign != '+' && kind != '{') {
      const size_t l_pos = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
      if ((l_pos > 0 || line_starting_) && all_python_space(text.substr(l_pos))) text = text.substr(0, l_pos);
    }
    if (!text.empty()) tokens_.push_back({Token::Type::kText, text, pos});
    pos = start + 2 + (sign ? 1 : 0);
    if (kind == '#') {
      pos = lex_comment(pos);
    } else if (kind == '%' && lex_raw(start, pos)) {
      continue;
    } else {
      tokens_.push_back({kind == '%' ? Token::Type::kBlockBegin : Token::Type::kVariableBegin, "", start});
      lex_tag(kind == '%', pos);
    }
  }
  tokens_.push_back({Token::Type::kEnd, "", src_.size()});
}

size_t Lexer::lex_comment(size_t pos) {
  const size_t close = src_.find("#}", pos);
  if (close == std::string::npos) fail("Missing end of comment tag", pos);
  size_t end = close + 2;
  const char sign = close > pos && (src_[close - 1] == '-' || src_[close - 1] == '+') ? src_[close - 1] : 0;
  if (sign == '-') {
    end += space_run(src_, end);
  } else if (sign == 0 && end < src_.size() && src_[end] == '\n') {
    ++end;
  }
  line_starting_ = end > 0 && src_[end - 1] == '\n';
  return end;
}

// {% raw %} ... {% endraw %}: the body is text, untouched.
bool Lexer::lex_raw(size_t start, size_t& pos) {
  size_t p = pos + space_run(src_, pos);
  if (!starts_with(src_, p, "raw")) return false;
  p += 3;
  p += space_run(src_, p);
  if (starts_with(src_, p, "-%}")) {
    p += 3;
    p += space_run(src_, p);
  } else if (starts_with(src_, p, "%}")) {
    p += 2;
  } else {
    return false;
  }
  size_t search = p;
  while (true) {
    const size_t open = src_.find("{%", search);
    if (open == std::string::npos) fail("Missing end of raw directive", start);
    size_t q = open + 2;
    const char sign = q < src_.size() && (src_[q] == '-' || src_[q] == '+') ? src_[q] : 0;
    if (sign) ++q;
    q += space_run(src_, q);
    if (!starts_with(src_, q, "endraw")) {
      search = open + 2;
      continue;
    }
    q += 6;
    q += space_run(src_, q);
    size_t end;
    if (starts_with(src_, q, "+%}")) {
      end = q + 3;
    } else if (starts_with(src_, q, "-%}")) {
      end = q + 3;
      end += space_run(src_, end);
    } else if (starts_with(src_, q, "%}")) {
      end = q + 2;
      if (end < src_.size() && src_[end] == '\n') ++end;
    } else {
      search = open + 2;
      continue;
    }
    std::string body = src_.substr(p, open - p);
    if (sign == '-') body = rstrip_python(body);
    if (!body.empty()) tokens_.push_back({Token::Type::kText, body, p});
    line_starting_ = src_[end - 1] == '\n';
    pos = end;
    return true;
  }
}

void Lexer::lex_tag(bool is_block, size_t& pos) {
  std::vector<char> balance;
  const Token::Type end_type = is_block ? Token::Type::kBlockEnd : Token::Type::kVariableEnd;
  const char* close = is_block ? "%}" : "}}";
  while (true) {
    if (pos >= src_.size()) fail(std::string("unexpected end of template, expected '") + close + "'", pos);
    if (balance.empty()) {
      size_t end = 0;
      if (is_block && src_[pos] == '+' && starts_with(src_, pos + 1, close)) {
        end = pos + 3;
      } else if (src_[pos] == '-' && starts_with(src_, pos + 1, close)) {
        end = pos + 3;
        end += space_run(src_, end);
      } else if (starts_with(src_, pos, close)) {
        end = pos + 2;
        if (is_block && end < src_.size() && src_[end] == '\n') ++end;
      }
      if (end) {
        tokens_.push_back({end_type, "", pos});
        line_starting_ = src_[end - 1] == '\n';
        pos = end;
        return;
      }
    }
    const char c = src_[pos];
    if (const size_t ws = space_run(src_, pos)) {
      pos += ws;
    } else if (std::isdigit(static_cast<unsigned char>(c)) &&
               !(pos > 0 && src_[pos - 1] == '.' && !tokens_.empty() &&
                 tokens_.back().type == Token::Type::kOperator)) {
      size_t end = pos;
      auto digits = [&](size_t& p) {
        const size_t begin = p;
        while (p < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[p])) ||
                                   (src_[p] == '_' && p + 1 < src_.size() &&
                                    std::isdigit(static_cast<unsigned char>(src_[p + 1]))))) {
          ++p;
        }
        return p > begin;
      };
      digits(end);
      bool is_float = false;
      if (end + 1 < src_.size() && src_[end] == '.' &&
          std::isdigit(static_cast<unsigned char>(src_[end + 1]))) {
        ++end;
        digits(end);
        is_float = true;
      }
      if (end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
        size_t e = end + 1;
        if (e < src_.size() && (src_[e] == '+' || src_[e] == '-')) ++e;
        if (digits(e)) {
          end = e;
          is_float = true;
        }
      }
      std::string spelling;
      for (size_t i = pos; i < end; ++i) {
        if (src_[i] != '_') spelling.push_back(src_[i]);
      }
      tokens_.push_back({is_float ? Token::Type::kFloat : Token::Type::kInt, spelling, pos});
      pos = end;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {  // the 0 of foo.0: an integer, never a float
      size_t end = pos;
      while (end < src_.size() && std::isdigit(static_cast<unsigned char>(src_[end]))) ++end;
      tokens_.push_back({Token::Type::kInt, src_.substr(pos, end - pos), pos});
      pos = end;
    } else if (is_name_start(c)) {
      size_t end = pos;
      while (end < src_.size() && is_name_char(src_[end])) ++end;
      tokens_.push_back({Token::Type::kName, src_.substr(pos, end - pos), pos});
      pos = end;
    } else if (c == '\'' || c == '"') {
      size_t end = pos + 1;
      while (end < src_.size() && src_[end] != c) end += src_[end] == '\\' ? 2 : 1;
      if (end >= src_.size()) fail("unexpected end of string", pos);
      tokens_.push_back({Token::Type::kString, unescape(src_.substr(pos + 1, end - pos - 1)), pos});
      pos = end + 1;
    } else {
      static const char* const kOperators[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/",
                                               "*",  "%",  "~",  "[",  "]",  "(",  ")", "{", "}",
                                               ">",  "<",  "=",  ".",  ":",  "|",  ",", ";"};
      const char* match = nullptr;
      for (const char* op : kOperators) {
        if (starts_with(src_, pos, op)) {
          match = op;
          break;
        }
      }
      if (!match) fail(std::string("unexpected char '") + c + "'", pos);
      const std::string op(match);
      if (op == "(" || op == "[" || op == "{") {
        balance.push_back(op == "(" ? ')' : op == "[" ? ']' : '}');
      } else if (op == ")" || op == "]" || op == "}") {
        if (balance.empty()) fail("unexpected '" + op + "'", pos);
        if (balance.back() != op[0])
          fail("unexpected '" + op + "', expected '" + std::string(1, balance.back()) + "'", pos);
        balance.pop_back();
      }
      tokens_.push_back({Token::Type::kOperator, op, pos});
      pos += op.size();
    }
  }
}

}  // namespace torchllm::jinja
