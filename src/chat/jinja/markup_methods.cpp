// str methods called on Markup, as markupsafe wraps them: string arguments are escaped, string results are
// Markup (split's pieces too), join escapes the items and format its arguments.
#include "chat/jinja/builtins.h"

namespace torchllm::jinja {
namespace {

Value as_markup(const Value& v) {
  if (v.is_string()) return Value::markup(v.as_string());
  if (!v.is_list()) return v;
  std::vector<Value> items;
  for (const Value& item : v.as_list().items) items.push_back(as_markup(item));
  return Value::list(std::move(items), v.as_list().is_tuple);
}

Value escaped_if_string(const Value& v) { return v.is_string() ? escape_value(v) : v; }

}  // namespace

Value markup_method(const Value& object, const std::string& name) {
  const Value plain = bound_method(Value(object.as_string()), name);
  if (plain.is_undefined()) return Value::undefined("'Markup object' has no attribute '" + name + "'");
  return Value::function(name, [plain, name](const CallArgs& args, Interpreter& interp) -> Value {
    CallArgs escaped;
    if (name == "split" || name == "splitlines") {
      escaped = args;  // markupsafe passes the separator through as is
    } else if (name == "join") {
      const Value* iterable = args.get(0, "iterable");
      std::vector<Value> items;
      if (iterable) {
        for (const Value& item : iterate(*iterable, interp, interp.current_offset()))
          items.push_back(escape_value(item));
      }
      escaped.positional.push_back(Value::list(std::move(items)));
    } else {
      auto escape = name == "format" ? escape_value : escaped_if_string;
      for (const Value& v : args.positional) escaped.positional.push_back(escape(v));
      for (const auto& [key, v] : args.keyword) escaped.keyword.emplace_back(key, escape(v));
    }
    const Value result = interp.call(plain, escaped, interp.current_offset());
    return result.is_string() || (result.is_list() && (name == "split" || name == "splitlines"))
               ? as_markup(result)
               : result;
  });
}

}  // namespace torchllm::jinja
