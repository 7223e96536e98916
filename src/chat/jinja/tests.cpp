// Jinja2's built-in tests (`x is defined`, `x is string`, ...).
#include "chat/jinja/builtins.h"
#include "chat/jinja/unicode.h"

namespace torchllm::jinja {

bool is_test_name(const std::string& name) {
  static const char* const kTests[] = {
      "!=",       "<",           "<=",          "==",      ">",       ">=",        "boolean",  "callable",
      "defined",  "divisibleby", "eq",          "equalto", "escaped", "even",      "false",    "filter",
      "float",    "ge",          "greaterthan", "gt",      "in",      "integer",   "iterable", "le",
      "lessthan", "lower",       "lt",          "mapping", "ne",      "none",      "number",   "odd",
      "sameas",   "sequence",    "string",      "test",    "true",    "undefined", "upper"};
  for (const char* test : kTests) {
    if (name == test) return true;
  }
  return false;
}

bool call_test(const std::string& name, const Value& v, const CallArgs& args, Interpreter& interp,
               size_t offset) {
  auto other = [&]() -> const Value& {
    const Value* o = args.get(0, "other");
    if (!o) interp.fail("test '" + name + "' needs an argument", offset);
    return *o;
  };
  auto ordered = [&](const char* op) {
    if (v.is_undefined()) interp.fail_undefined(v, offset);
    try {
      const int c = python_compare(v, other());
      const std::string o(op);
      return o == "<" ? c < 0 : o == "<=" ? c <= 0 : o == ">" ? c > 0 : c >= 0;
    } catch (const std::invalid_argument& e) {
      interp.fail(e.what(), offset);
    }
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable") return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
  if (name == "sequence")
    return v.is_string() || (v.is_list() && !v.is_generator()) || v.is_dict() || v.is_undefined();
  if (name == "callable") return v.is_callable();
  if (name == "odd" || name == "even" || name == "divisibleby") {
    if (!v.is_int() && !v.is_bool()) interp.fail("test '" + name + "' needs an integer", offset);
    if (name == "divisibleby") {
      const int64_t d = other().as_int();
      if (d == 0) interp.fail("integer division or modulo by zero", offset);
      return v.as_int() % d == 0;
    }
    return (v.as_int() % 2 != 0) == (name == "odd");
  }
  if (name == "equalto" || name == "eq" || name == "==") return v.equals(other());
  if (name == "ne" || name == "!=") return !v.equals(other());
  if (name == "lt" || name == "lessthan" || name == "<") return ordered("<");
  if (name == "le" || name == "<=") return ordered("<=");
  if (name == "gt" || name == "greaterthan" || name == ">") return ordered(">");
  if (name == "ge" || name == ">=") return ordered(">=");
  if (name == "in") {
    const Value& container = other();
    if (container.is_string())
      return v.is_string() && container.as_string().find(v.as_string()) != std::string::npos;
    if (container.is_dict()) return v.hashable() && container.as_dict().find(v) != nullptr;
    for (const Value& item : iterate(container, interp, offset)) {
      if (item.equals(v)) return true;
    }
    return false;
  }
  if (name == "sameas") {
    const Value& o = other();
    if (v.kind() != o.kind()) return false;
    if (v.is_none() || v.is_undefined()) return true;
    if (v.is_bool()) return v.as_bool() == o.as_bool();
    if (v.is_list()) return &v.as_list() == &o.as_list();
    if (v.is_dict() || v.is_namespace()) return &v.as_dict() == &o.as_dict();
    return v.equals(o) && (v.is_int() && v.as_int() >= -5 && v.as_int() <= 256);
  }
  if (name == "lower") return v.is_string() && to_lower(v.as_string()) == v.as_string();
  if (name == "upper") return v.is_string() && to_upper(v.as_string()) == v.as_string();
  if (name == "escaped") return v.is_markup();
  if (name == "filter") return v.is_string() && is_filter_name(v.as_string());
  if (name == "test") return v.is_string() && is_test_name(v.as_string());
  interp.fail("No test named '" + name + "'.", offset);
}

}  // namespace torchllm::jinja
