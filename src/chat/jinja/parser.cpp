#include "chat/jinja/parser.h"

#include <cstdlib>
#include <initializer_list>

namespace torchllm::jinja {
namespace {

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

  // ---- statements ---------------------------------------------------------------------------------
  // Parses until a block whose first name is in `end_names`; leaves it current (after "{%") in end_tag.
  Body parse_body(std::initializer_list<const char*> end_names, std::string& end_tag) {
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

  StmtPtr parse_statement(size_t offset) {
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

  std::vector<std::string> parse_targets() {
    std::vector<std::string> names;
    const bool parens = accept_op("(");
    do {
      names.push_back(expect_name());
    } while (accept_op(","));
    if (parens) expect_op(")");
    return names;
  }

  void parse_signature(Stmt& s) {
    expect_op("(");
    while (!is_op(")")) {
      if (!s.params.empty()) expect_op(",");
      if (is_op(")")) break;
      s.params.push_back(expect_name());
      s.defaults.push_back(accept_op("=") ? parse_expression(true) : nullptr);
    }
    expect_op(")");
  }

  // ---- expressions ----------------------------------------------------------------------------------
  // An expression, or several separated by commas (a tuple).
  ExprPtr parse_tuple(bool with_condition, bool stop_at_if = false) {
    const size_t offset = current().offset;
    ExprPtr first = parse_expression(with_condition && !stop_at_if);
    if (!is_op(",")) return first;
    auto tuple = make(Expr::Kind::kTuple, offset);
    tuple->args.push_back(std::move(first));
    while (accept_op(",")) {
      if (current().type == Type::kBlockEnd || current().type == Type::kVariableEnd || is_name("if") ||
          is_op(")"))
        break;
      tuple->args.push_back(parse_expression(with_condition && !stop_at_if));
    }
    return tuple;
  }

  ExprPtr parse_expression(bool with_condition) {
    Depth depth(*this);
    if (!with_condition) return parse_or();
    ExprPtr expr = parse_or();
    while (is_name("if")) {
      const size_t offset = current().offset;
      advance();
      auto cond = make(Expr::Kind::kCondition, offset);
      cond->args.push_back(parse_or());
      cond->args.push_back(std::move(expr));
      cond->args.push_back(accept_name("else") ? parse_expression(true) : nullptr);
      expr = std::move(cond);
    }
    return expr;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      const size_t offset = current().offset;
      advance();
      left = make(Expr::Kind::kOr, offset, std::move(left), parse_and());
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      const size_t offset = current().offset;
      advance();
      left = make(Expr::Kind::kAnd, offset, std::move(left), parse_not());
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      Depth depth(*this);
      const size_t offset = current().offset;
      advance();
      return make(Expr::Kind::kNot, offset, parse_not());
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const size_t offset = current().offset;
    ExprPtr first = parse_math1();
    std::unique_ptr<Expr> compare;
    while (true) {
      std::string op;
      if (current().type == Type::kOperator &&
          (current().value == "==" || current().value == "!=" || current().value == "<" ||
           current().value == "<=" || current().value == ">" || current().value == ">=")) {
        op = current().value;
        advance();
      } else if (is_name("in")) {
        op = "in";
        advance();
      } else if (is_name("not") && peek().type == Type::kName && peek().value == "in") {
        op = "not in";
        advance();
        advance();
      } else {
        break;
      }
      if (!compare) {
        compare = make(Expr::Kind::kCompare, offset);
        compare->args.push_back(std::move(first));
      }
      compare->ops.push_back(op);
      compare->args.push_back(parse_math1());
    }
    return compare ? std::move(compare) : std::move(first);
  }

  ExprPtr binary(const std::string& op, size_t offset, ExprPtr a, ExprPtr b) {
    auto e = make(Expr::Kind::kBinary, offset, std::move(a), std::move(b));
    e->name = op;
    return e;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const std::string op = current().value;
      const size_t offset = current().offset;
      advance();
      left = binary(op, offset, std::move(left), parse_concat());
    }
    return left;
  }

  ExprPtr parse_concat() {
    const size_t offset = current().offset;
    ExprPtr first = parse_math2();
    if (!is_op("~")) return first;
    auto concat = make(Expr::Kind::kConcat, offset);
    concat->args.push_back(std::move(first));
    while (accept_op("~")) concat->args.push_back(parse_math2());
    return concat;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const std::string op = current().value;
      const size_t offset = current().offset;
      advance();
      left = binary(op, offset, std::move(left), parse_pow());
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      const size_t offset = current().offset;
      advance();
      left = binary("**", offset, std::move(left), parse_unary(true));
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    Depth depth(*this);
    const size_t offset = current().offset;
    ExprPtr node;
    if (accept_op("-")) {
      node = make(Expr::Kind::kNeg, offset, parse_unary(false));
    } else if (accept_op("+")) {
      node = make(Expr::Kind::kPos, offset, parse_unary(false));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = current();
    auto literal = [&](Value v) {
      auto e = make(Expr::Kind::kLiteral, t.offset);
      e->literal = std::move(v);
      return e;
    };
    switch (t.type) {
      case Type::kName: {
        const std::string& n = t.value;
        ExprPtr e;
        if (n == "true" || n == "True") {
          e = literal(Value(true));
        } else if (n == "false" || n == "False") {
          e = literal(Value(false));
        } else if (n == "none" || n == "None") {
          e = literal(Value::none());
        } else {
          e = make(Expr::Kind::kName, t.offset);
          e->name = n;
        }
        advance();
        return e;
      }
      case Type::kString: {
        std::string s;
        const size_t offset = t.offset;
        while (current().type == Type::kString) {
          s += current().value;
          advance();
        }
        auto e = make(Expr::Kind::kLiteral, offset);
        e->literal = Value(std::move(s));
        return e;
      }
      case Type::kInt: {
        errno = 0;
        const long long v = std::strtoll(t.value.c_str(), nullptr, 10);
        if (errno == ERANGE) fail("integer literal out of range");
        auto e = literal(Value(static_cast<int64_t>(v)));
        advance();
        return e;
      }
      case Type::kFloat: {
        auto e = literal(Value(std::strtod(t.value.c_str(), nullptr)));
        advance();
        return e;
      }
      case Type::kOperator:
        if (t.value == "(") {
          advance();
          if (accept_op(")")) return make(Expr::Kind::kTuple, t.offset);
          ExprPtr inner = parse_tuple(true);
          if (inner->kind == Expr::Kind::kTuple || !is_op(")")) {
            expect_op(")");
            return inner;
          }
          advance();
          return inner;
        }
        if (t.value == "[") {
          auto list = make(Expr::Kind::kList, t.offset);
          advance();
          while (!is_op("]")) {
            if (!list->args.empty()) expect_op(",");
            if (is_op("]")) break;
            list->args.push_back(parse_expression(true));
          }
          advance();
          return list;
        }
        if (t.value == "{") {
          auto dict = make(Expr::Kind::kDict, t.offset);
          advance();
          while (!is_op("}")) {
            if (!dict->args.empty()) expect_op(",");
            if (is_op("}")) break;
            dict->args.push_back(parse_expression(true));
            expect_op(":");
            dict->args.push_back(parse_expression(true));
          }
          advance();
          return dict;
        }
        break;
      default:
        break;
    }
    fail("unexpected " + describe(t));
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      const size_t offset = current().offset;
      if (is_op(".")) {
        advance();
        if (current().type == Type::kName) {
          auto e = make(Expr::Kind::kGetAttr, offset, std::move(node));
          e->name = current().value;
          advance();
          node = std::move(e);
        } else if (current().type == Type::kInt) {
          auto index = make(Expr::Kind::kLiteral, current().offset);
          index->literal = Value(static_cast<int64_t>(std::strtoll(current().value.c_str(), nullptr, 10)));
          advance();
          node = make(Expr::Kind::kGetItem, offset, std::move(node), std::move(index));
        } else {
          fail("expected a name after '.'");
        }
      } else if (is_op("[")) {
        advance();
        node = parse_subscript(std::move(node), offset);
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr node, size_t offset) {
    ExprPtr parts[3];
    bool is_slice = false;
    for (int i = 0; i < 3; ++i) {
      if (!is_op(":") && !is_op("]")) parts[i] = parse_expression(true);
      if (i < 2 && accept_op(":")) {
        is_slice = true;
        continue;
      }
      break;
    }
    expect_op("]");
    if (!is_slice) {
      if (!parts[0]) fail("expected an index");
      return make(Expr::Kind::kGetItem, offset, std::move(node), std::move(parts[0]));
    }
    auto slice = make(Expr::Kind::kSlice, offset);
    slice->args.push_back(std::move(node));
    for (auto& p : parts) slice->args.push_back(std::move(p));
    return slice;
  }

  void parse_call_args(Expr& call) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (is_op(")")) break;
      if (current().type == Type::kName && peek().type == Type::kOperator && peek().value == "=") {
        std::string key = current().value;
        advance();
        advance();
        call.kwargs.emplace_back(std::move(key), parse_expression(true));
      } else {
        if (!call.kwargs.empty()) fail("positional argument after keyword argument");
        call.args.push_back(parse_expression(true));
      }
    }
    advance();
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto call = make(Expr::Kind::kCall, current().offset, std::move(callee));
    parse_call_args(*call);
    return call;
  }

  ExprPtr parse_filter(ExprPtr subject) {
    auto filter = make(Expr::Kind::kFilter, current().offset, std::move(subject));
    filter->name = expect_name();
    if (is_op("(")) parse_call_args(*filter);
    return filter;
  }

  // "name(args) | name2 ..." applied to a placeholder literal that stands for a rendered block.
  ExprPtr parse_filter_chain(size_t offset) {
    ExprPtr chain = parse_filter(make(Expr::Kind::kLiteral, offset));
    while (accept_op("|")) chain = parse_filter(std::move(chain));
    return chain;
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (accept_op("|")) {
        node = parse_filter(std::move(node));
      } else if (is_name("is")) {
        const size_t offset = current().offset;
        advance();
        auto test = make(Expr::Kind::kTest, offset, std::move(node));
        test->negated = accept_name("not");
        test->name = expect_name();
        if (is_op("(")) {
          parse_call_args(*test);
        } else if ((current().type == Type::kName || current().type == Type::kString ||
                    current().type == Type::kInt || current().type == Type::kFloat || is_op("(") ||
                    is_op("[") || is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          if (is_name("is")) fail("You cannot chain multiple tests with is");
          test->args.push_back(parse_postfix(parse_primary()));
        }
        node = std::move(test);
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  const Lexer& lexer_;
  const std::vector<Token>& tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Body parse_template(const Lexer& lexer) { return Parser(lexer).parse_all(); }

}  // namespace torchllm::jinja
