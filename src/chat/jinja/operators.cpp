// Python's semantics for the operators templates use: arithmetic, comparisons, membership and iteration.
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <utility>

#include "chat/jinja/builtins.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/unicode.h"

namespace torchllm::jinja {
namespace {

bool both_ints(const Value& a, const Value& b) {
  return (a.is_int() || a.is_bool()) && (b.is_int() || b.is_bool());
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

std::string python_type_name(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNone:
      return "NoneType";
    case Value::Kind::kBool:
      return "bool";
    case Value::Kind::kInt:
      return "int";
    case Value::Kind::kFloat:
      return "float";
    case Value::Kind::kString:
      return v.is_markup() ? "Markup" : "str";
    case Value::Kind::kList:
      return v.is_generator() ? "generator" : v.as_list().is_tuple ? "tuple" : "list";
    case Value::Kind::kDict:
      return "dict";
    default:
      return "object";
  }
}

int python_compare(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (both_ints(a, b)) return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
    return a.as_double() < b.as_double() ? -1 : a.as_double() > b.as_double() ? 1 : 0;
  }
  if (a.is_string() && b.is_string())
    return a.as_string().compare(b.as_string()) < 0 ? -1 : a.as_string() == b.as_string() ? 0 : 1;
  if (a.is_list() && b.is_list()) {
    const auto& x = a.as_list().items;
    const auto& y = b.as_list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!x[i].equals(y[i])) return python_compare(x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  throw std::invalid_argument("'<' not supported between instances of '" + python_type_name(a) + "' and '" +
                              python_type_name(b) + "'");
}

std::vector<Value> iterate(const Value& v, Interpreter& interp, size_t offset) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return {};
    case Value::Kind::kList:
      if (v.is_generator()) return std::exchange(v.as_list().items, {});  // a generator runs once
      return v.as_list().items;
    case Value::Kind::kDict: {
      std::vector<Value> keys;
      for (const auto& item : v.as_dict().items) keys.push_back(item.first);
      return keys;
    }
    case Value::Kind::kString: {
      std::vector<Value> chars;
      for (char32_t cp : decode_utf8(v.as_string())) {
        std::string s;
        append_utf8(s, cp);
        chars.emplace_back(std::move(s));
      }
      return chars;
    }
    default:
      interp.fail("'" + python_type_name(v) + "' object is not iterable", offset);
  }
}

Value Interpreter::eval_binary(const std::string& op, const Value& a, const Value& b, size_t offset) {
  if (a.is_undefined()) fail_undefined(a, offset);
  if (b.is_undefined()) fail_undefined(b, offset);
  auto unsupported = [&]() {
    fail("unsupported operand type(s) for " + op + ": '" + python_type_name(a) + "' and '" +
             python_type_name(b) + "'",
         offset);
  };
  if (op == "+") {
    if (both_ints(a, b)) return Value(a.as_int() + b.as_int());
    if (a.is_number() && b.is_number()) return Value(a.as_double() + b.as_double());
    if (a.is_string() && b.is_string()) {
      if (a.is_markup() || b.is_markup())  // Markup.__add__ / __radd__ escape the plain side
        return Value::markup(escape_value(a).as_string() + escape_value(b).as_string());
      return Value(a.as_string() + b.as_string());
    }
    if (a.is_list() && b.is_list() && !a.is_generator() && !b.is_generator()) {
      std::vector<Value> items = a.as_list().items;
      items.insert(items.end(), b.as_list().items.begin(), b.as_list().items.end());
      return Value::list(std::move(items), a.as_list().is_tuple);
    }
    unsupported();
  }
  if (op == "*") {
    if (both_ints(a, b)) return Value(a.as_int() * b.as_int());
    if (a.is_number() && b.is_number()) return Value(a.as_double() * b.as_double());
    const Value& seq = a.is_number() ? b : a;
    const Value& count = a.is_number() ? a : b;
    if ((count.is_int() || count.is_bool()) && (seq.is_string() || (seq.is_list() && !seq.is_generator()))) {
      const int64_t n = count.as_int();
      const size_t unit = seq.is_string() ? seq.as_string().size() : seq.as_list().items.size();
      if (n > 0 && unit * static_cast<size_t>(n) > limits_.max_output_bytes)
        fail("repetition result too large", offset);
      if (seq.is_string()) {
        std::string out;
        for (int64_t i = 0; i < n; ++i) out += seq.as_string();
        return seq.is_markup() ? Value::markup(std::move(out)) : Value(std::move(out));
      }
      std::vector<Value> out;
      for (int64_t i = 0; i < n; ++i)
        out.insert(out.end(), seq.as_list().items.begin(), seq.as_list().items.end());
      return Value::list(std::move(out));
    }
    unsupported();
  }
  if (op == "%" && a.is_string()) return Value(percent_format(a, b, *this, offset));
  if (!a.is_number() || !b.is_number()) unsupported();
  if (op == "-") {
    if (both_ints(a, b)) return Value(a.as_int() - b.as_int());
    return Value(a.as_double() - b.as_double());
  }
  if (op == "/") {
    if (b.as_double() == 0) fail("division by zero", offset);
    return Value(a.as_double() / b.as_double());
  }
  if (op == "//" || op == "%") {
    if (b.as_double() == 0)
      fail(op == "//" ? "integer division or modulo by zero" : "modulo by zero", offset);
    if (both_ints(a, b)) {
      const int64_t q = floor_div(a.as_int(), b.as_int());
      return op == "//" ? Value(q) : Value(a.as_int() - q * b.as_int());
    }
    const double q = std::floor(a.as_double() / b.as_double());
    if (op == "//") return Value(q);
    double m = std::fmod(a.as_double(), b.as_double());
    if (m != 0 && ((m < 0) != (b.as_double() < 0))) m += b.as_double();
    return Value(m);
  }
  if (op == "**") {
    if (both_ints(a, b) && b.as_int() >= 0) {
      int64_t result = 1, base = a.as_int();
      for (int64_t e = b.as_int(); e > 0; --e) {
        step(offset);
        if (base != 0 && std::llabs(result) > INT64_MAX / std::max<int64_t>(1, std::llabs(base))) {
          fail("integer power result too large", offset);
        }
        result *= base;
      }
      return Value(result);
    }
    return Value(std::pow(a.as_double(), b.as_double()));
  }
  fail("unsupported operator " + op, offset);
}

bool Interpreter::compare(const std::string& op, const Value& a, const Value& b, size_t offset) {
  if (op == "==") return a.equals(b);
  if (op == "!=") return !a.equals(b);
  if (op == "in" || op == "not in") {
    bool found = false;
    if (b.is_string()) {
      if (!a.is_string())
        fail("'in <string>' requires string as left operand, not " + python_type_name(a), offset);
      found = b.as_string().find(a.as_string()) != std::string::npos;
    } else if (b.is_list()) {
      for (const Value& item : b.as_list().items) found = found || item.equals(a);
    } else if (b.is_dict()) {
      if (!a.hashable()) fail("unhashable type: '" + python_type_name(a) + "'", offset);
      found = b.as_dict().find(a) != nullptr;
    } else if (b.is_namespace()) {
      found = a.is_string() && b.as_dict().find(a.as_string()) != nullptr;
    } else if (!b.is_undefined()) {
      fail("argument of type '" + python_type_name(b) + "' is not iterable", offset);
    }
    return op == "in" ? found : !found;
  }
  if (a.is_undefined()) fail_undefined(a, offset);
  if (b.is_undefined()) fail_undefined(b, offset);
  int c = 0;
  try {
    c = python_compare(a, b);
  } catch (const std::invalid_argument& e) {
    fail(std::string(e.what()), offset);
  }
  if (op == "<") return c < 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  return c >= 0;
}

}  // namespace torchllm::jinja
