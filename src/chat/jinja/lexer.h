#pragma once

// Splits a template into text and tag tokens exactly as Jinja2's lexer does with trim_blocks=True,
// lstrip_blocks=True, keep_trailing_newline=False, including {%- -%} / {%+ +%} whitespace control.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace torchllm::jinja {

// A template problem with its place in the source (1-based line and column).
class TemplateError : public std::runtime_error {
 public:
  TemplateError(const std::string& message, int line, int column)
      : std::runtime_error(message), line_(line), column_(column) {}
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  int line_;
  int column_;
};

// Raised by raise_exception(): the message is the template author's own.
class RaisedException : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Token {
  enum class Type {
    kText,
    kVariableBegin,
    kVariableEnd,
    kBlockBegin,
    kBlockEnd,
    kName,
    kString,
    kInt,
    kFloat,
    kOperator,
    kEnd
  };
  Type type;
  std::string value;  // text, name, operator, unescaped string, or number spelling
  size_t offset;      // in the normalized source
};

class Lexer {
 public:
  explicit Lexer(const std::string& source);
  const std::vector<Token>& tokens() const { return tokens_; }
  // 1-based line and column of an offset.
  std::pair<int, int> position(size_t offset) const;
  [[noreturn]] void fail(const std::string& message, size_t offset) const;

 private:
  void tokenize();
  void lex_tag(bool is_block, size_t& pos);
  size_t lex_comment(size_t pos);
  bool lex_raw(size_t start, size_t& pos);

  std::string src_;
  std::vector<Token> tokens_;
  bool line_starting_ = true;
};

}  // namespace torchllm::jinja
