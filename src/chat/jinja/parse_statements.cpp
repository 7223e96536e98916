#include "chat/jinja/parser.h"
#include "chat/jinja/parser_state.h"

namespace torchllm::jinja {

// Parses until a block whose first name is in `end_names`; leaves it current (after "{%") in end_tag.
Body Parser::parse_body(std::initializer_list<const char*> end_names, std::string& end_tag) {
  Depth depth(*this);
  Body body;
  while (true) {
    const Token& t = current();
    if (t.type == Type::kEnd) {
      if (end_names.size() == 0) return body;
      fail(std::string("unexpected end of template, expected '") + *end_names.begin() + "'");
    }
    if (t.type == Type::kText) {
      auto s = std::make_unique<Stmt>();
      s->kind = Stmt::Kind::kText;
      s->offset = t.offset;
      s->text = t.value;
      body.push_back(std::move(s));
      advance();
    } else if (t.type == Type::kVariableBegin) {
      advance();
      auto s = std::make_unique<Stmt>();
      s->kind = Stmt::Kind::kOutput;
      s->offset = t.offset;
      s->expr = parse_tuple(true);
      if (current().type != Type::kVariableEnd)
        fail("expected end of print statement, got " + describe(current()));
      advance();
      body.push_back(std::move(s));
    } else if (t.type == Type::kBlockBegin) {
      advance();
      if (current().type != Type::kName) fail("tag name expected");
      const std::string name = current().value;
      for (const char* end : end_names) {
        if (name == end) {
          end_tag = name;
          advance();
          return body;
        }
      }
      body.push_back(parse_statement(t.offset));
    } else {
      fail("unexpected " + describe(t));
    }
  }
}

StmtPtr Parser::parse_statement(size_t offset) {
  auto s = std::make_unique<Stmt>();
  s->offset = offset;
  const std::string tag = expect_name();
  std::string end;
  if (tag == "if") {
    s->kind = Stmt::Kind::kIf;
    ExprPtr condition = parse_tuple(false);
    while (true) {
      expect_block_end();
      Body branch = parse_body({"elif", "else", "endif"}, end);
      s->branches.emplace_back(std::move(condition), std::move(branch));
      if (end == "elif") {
        condition = parse_tuple(false);
      } else if (end == "else") {
        expect_block_end();
        s->branches.emplace_back(nullptr, parse_body({"endif"}, end));
        break;
      } else {
        break;
      }
    }
  } else if (tag == "for") {
    s->kind = Stmt::Kind::kFor;
    s->targets = parse_targets();
    if (!accept_name("in")) fail("expected 'in' in for loop");
    s->expr = parse_tuple(false, /*stop_at_if=*/true);
    if (accept_name("if")) s->condition = parse_expression(true);
    if (accept_name("recursive")) fail("recursive for loops are not supported");
    expect_block_end();
    s->body = parse_body({"endfor", "else"}, end);
    if (end == "else") {
      expect_block_end();
      s->else_body = parse_body({"endfor"}, end);
    }
  } else if (tag == "set") {
    s->targets = parse_targets();
    if (s->targets.size() == 1 && accept_op(".")) s->attribute = expect_name();
    if (accept_op("=")) {
      s->kind = Stmt::Kind::kSet;
      s->expr = parse_tuple(true);
    } else {
      if (s->targets.size() != 1 || !s->attribute.empty()) fail("block set takes one plain name");
      s->kind = Stmt::Kind::kSetBlock;
      if (accept_op("|")) s->expr = parse_filter_chain(offset);
      expect_block_end();
      s->body = parse_body({"endset"}, end);
    }
  } else if (tag == "macro") {
    s->kind = Stmt::Kind::kMacro;
    s->name = expect_name();
    parse_signature(*s);
    expect_block_end();
    s->body = parse_body({"endmacro"}, end);
  } else if (tag == "call") {
    s->kind = Stmt::Kind::kCallBlock;
    if (is_op("(")) parse_signature(*s);
    s->expr = parse_expression(true);
    if (s->expr->kind != Expr::Kind::kCall) fail("expected a call expression after 'call'");
    expect_block_end();
    s->body = parse_body({"endcall"}, end);
  } else if (tag == "filter") {
    s->kind = Stmt::Kind::kFilterBlock;
    s->expr = parse_filter_chain(offset);
    expect_block_end();
    s->body = parse_body({"endfilter"}, end);
  } else if (tag == "break" || tag == "continue") {
    s->kind = tag == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue;
  } else if (tag == "generation") {
    s->kind = Stmt::Kind::kScope;
    expect_block_end();
    s->body = parse_body({"endgeneration"}, end);
  } else {
    lexer_.fail("unsupported or unknown tag '" + tag + "'", offset);
  }
  expect_block_end();
  return s;
}

std::vector<std::string> Parser::parse_targets() {
  std::vector<std::string> names;
  const bool parens = accept_op("(");
  do {
    names.push_back(expect_name());
  } while (accept_op(","));
  if (parens) expect_op(")");
  return names;
}

void Parser::parse_signature(Stmt& s) {
  expect_op("(");
  while (!is_op(")")) {
    if (!s.params.empty()) expect_op(",");
    if (is_op(")")) break;
    s.params.push_back(expect_name());
    s.defaults.push_back(accept_op("=") ? parse_expression(true) : nullptr);
  }
  expect_op(")");
}

Body parse_template(const Lexer& lexer) { return Parser(lexer).parse_all(); }

}  // namespace torchllm::jinja
