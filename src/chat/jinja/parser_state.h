#pragma once

// The recursive-descent parser behind parse_template, shared by parse_statements.cpp and
// parse_expressions.cpp.

#include <cstdlib>
#include <initializer_list>
#include <string>
#include <vector>

#include "chat/jinja/ast.h"
#include "chat/jinja/lexer.h"

namespace torchllm::jinja {

constexpr int kMaxNesting = 200;  // deeper templates are refused instead of exhausting the stack

class Parser {
 public:
  explicit Parser(const Lexer& lexer) : lexer_(lexer), tokens_(lexer.tokens()) {}

  Body parse_all() {
    std::string end_tag;
    Body body = parse_body({}, end_tag);
    if (!end_tag.empty()) fail("unexpected tag '" + end_tag + "'");
    return body;
  }

 private:
  using Type = Token::Type;

  const Token& current() const { return tokens_[pos_]; }
  const Token& peek(size_t n = 1) const { return tokens_[std::min(pos_ + n, tokens_.size() - 1)]; }
  void advance() {
    if (pos_ + 1 < tokens_.size()) ++pos_;
  }
  [[noreturn]] void fail(const std::string& message) const { lexer_.fail(message, current().offset); }

  bool is_op(const char* op) const { return current().type == Type::kOperator && current().value == op; }
  bool is_name(const char* name) const { return current().type == Type::kName && current().value == name; }
  bool accept_op(const char* op) {
    if (!is_op(op)) return false;
    advance();
    return true;
  }
  bool accept_name(const char* name) {
    if (!is_name(name)) return false;
    advance();
    return true;
  }
  void expect_op(const char* op) {
    if (!accept_op(op)) fail(std::string("expected '") + op + "', got " + describe(current()));
  }
  std::string expect_name() {
    if (current().type != Type::kName) fail("expected a name, got " + describe(current()));
    std::string name = current().value;
    advance();
    return name;
  }
  void expect_block_end() {
    if (current().type != Type::kBlockEnd)
      fail("expected end of statement block, got " + describe(current()));
    advance();
  }
  static std::string describe(const Token& t) {
    switch (t.type) {
      case Type::kBlockEnd:
        return "end of statement block";
      case Type::kVariableEnd:
        return "end of print statement";
      case Type::kEnd:
        return "end of template";
      case Type::kString:
        return "string";
      default:
        return "'" + t.value + "'";
    }
  }

  struct Depth {
    Depth(Parser& p) : p_(p) {
      if (++p_.depth_ > kMaxNesting)
        p_.fail("template nests deeper than " + std::to_string(kMaxNesting) + " levels");
    }
    ~Depth() { --p_.depth_; }
    Parser& p_;
  };

  ExprPtr make(Expr::Kind kind, size_t offset) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->offset = offset;
    return e;
  }
  ExprPtr make(Expr::Kind kind, size_t offset, ExprPtr a, ExprPtr b = nullptr) {
    auto e = make(kind, offset);
    e->args.push_back(std::move(a));
    if (b) e->args.push_back(std::move(b));
    return e;
  }

  // ---- statements (parse_statements.cpp) ----
  // Parses until a block whose first name is in `end_names`; leaves it current (after "{%") in end_tag.
  Body parse_body(std::initializer_list<const char*> end_names, std::string& end_tag);
  StmtPtr parse_statement(size_t offset);
  std::vector<std::string> parse_targets();
  void parse_signature(Stmt& s);

  // ---- expressions (parse_expressions.cpp) ----
  // An expression, or several separated by commas (a tuple).
  ExprPtr parse_tuple(bool with_condition, bool stop_at_if = false);
  ExprPtr parse_expression(bool with_condition);
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr binary(const std::string& op, size_t offset, ExprPtr a, ExprPtr b);
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_unary(bool with_filter);
  ExprPtr parse_primary();
  ExprPtr parse_postfix(ExprPtr node);
  ExprPtr parse_subscript(ExprPtr node, size_t offset);
  void parse_call_args(Expr& call);
  ExprPtr parse_call(ExprPtr callee);
  ExprPtr parse_filter(ExprPtr subject);
  // "name(args) | name2 ..." applied to a placeholder literal that stands for a rendered block.
  ExprPtr parse_filter_chain(size_t offset);
  ExprPtr parse_filter_expr(ExprPtr node);

  const Lexer& lexer_;
  const std::vector<Token>& tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace torchllm::jinja
