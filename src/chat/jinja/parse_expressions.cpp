#include "chat/jinja/parser_state.h"

namespace torchllm::jinja {

// An expression, or several separated by commas (a tuple).
ExprPtr Parser::parse_tuple(bool with_condition, bool stop_at_if) {
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

ExprPtr Parser::parse_expression(bool with_condition) {
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

ExprPtr Parser::parse_or() {
  ExprPtr left = parse_and();
  while (is_name("or")) {
    const size_t offset = current().offset;
    advance();
    left = make(Expr::Kind::kOr, offset, std::move(left), parse_and());
  }
  return left;
}

ExprPtr Parser::parse_and() {
  ExprPtr left = parse_not();
  while (is_name("and")) {
    const size_t offset = current().offset;
    advance();
    left = make(Expr::Kind::kAnd, offset, std::move(left), parse_not());
  }
  return left;
}

ExprPtr Parser::parse_not() {
  if (is_name("not")) {
    Depth depth(*this);
    const size_t offset = current().offset;
    advance();
    return make(Expr::Kind::kNot, offset, parse_not());
  }
  return parse_compare();
}

ExprPtr Parser::parse_compare() {
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

ExprPtr Parser::binary(const std::string& op, size_t offset, ExprPtr a, ExprPtr b) {
  auto e = make(Expr::Kind::kBinary, offset, std::move(a), std::move(b));
  e->name = op;
  return e;
}

ExprPtr Parser::parse_math1() {
  ExprPtr left = parse_concat();
  while (is_op("+") || is_op("-")) {
    const std::string op = current().value;
    const size_t offset = current().offset;
    advance();
    left = binary(op, offset, std::move(left), parse_concat());
  }
  return left;
}

ExprPtr Parser::parse_concat() {
  const size_t offset = current().offset;
  ExprPtr first = parse_math2();
  if (!is_op("~")) return first;
  auto concat = make(Expr::Kind::kConcat, offset);
  concat->args.push_back(std::move(first));
  while (accept_op("~")) concat->args.push_back(parse_math2());
  return concat;
}

ExprPtr Parser::parse_math2() {
  ExprPtr left = parse_pow();
  while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
    const std::string op = current().value;
    const size_t offset = current().offset;
    advance();
    left = binary(op, offset, std::move(left), parse_pow());
  }
  return left;
}

ExprPtr Parser::parse_pow() {
  ExprPtr left = parse_unary(true);
  while (is_op("**")) {
    const size_t offset = current().offset;
    advance();
    left = binary("**", offset, std::move(left), parse_unary(true));
  }
  return left;
}

ExprPtr Parser::parse_unary(bool with_filter) {
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

ExprPtr Parser::parse_primary() {
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

ExprPtr Parser::parse_postfix(ExprPtr node) {
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

ExprPtr Parser::parse_subscript(ExprPtr node, size_t offset) {
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

void Parser::parse_call_args(Expr& call) {
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

ExprPtr Parser::parse_call(ExprPtr callee) {
  auto call = make(Expr::Kind::kCall, current().offset, std::move(callee));
  parse_call_args(*call);
  return call;
}

ExprPtr Parser::parse_filter(ExprPtr subject) {
  auto filter = make(Expr::Kind::kFilter, current().offset, std::move(subject));
  filter->name = expect_name();
  if (is_op("(")) parse_call_args(*filter);
  return filter;
}

// "name(args) | name2 ..." applied to a placeholder literal that stands for a rendered block.
ExprPtr Parser::parse_filter_chain(size_t offset) {
  ExprPtr chain = parse_filter(make(Expr::Kind::kLiteral, offset));
  while (accept_op("|")) chain = parse_filter(std::move(chain));
  return chain;
}

ExprPtr Parser::parse_filter_expr(ExprPtr node) {
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

}  // namespace torchllm::jinja
