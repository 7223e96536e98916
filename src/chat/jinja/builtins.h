#pragma once

// The built-in filters, tests, methods and global functions of the template language.

#include <string>
#include <vector>

#include "chat/jinja/interpreter.h"
#include "chat/jinja/value.h"

namespace torchllm::jinja {

// Throw TemplateError (through interp.fail) for unknown names or bad arguments.
Value call_filter(const std::string& name, const Value& subject, const CallArgs& args, Interpreter& interp,
                  size_t offset);
bool call_test(const std::string& name, const Value& subject, const CallArgs& args, Interpreter& interp,
               size_t offset);

// A bound method of a str, dict or list value (e.g. "abc".upper), or undefined when there is none.
Value bound_method(const Value& object, const std::string& name);

// A str method of a Markup value, with markupsafe's escaping (markup_methods.cpp).
Value markup_method(const Value& object, const std::string& name);

// Whether Jinja2 (as transformers configures it) has a filter or a test of this name: the `filter` and
// `test` tests.
bool is_filter_name(const std::string& name);
bool is_test_name(const std::string& name);

// range, namespace, dict, joiner, cycler, raise_exception, strftime_now.
void add_global_functions(ValueDict& globals);

// Python's json.dumps(v, ensure_ascii=..., indent=indent, separators=..., sort_keys=...); indent < 0 = None.
std::string json_dumps(const Value& v, int indent, const std::string& item_separator,
                       const std::string& key_separator, bool sort_keys, bool ensure_ascii,
                       Interpreter& interp, size_t offset);

// Python's printf-style `format % args` (args: a tuple, a mapping for %(name)s, or one value). For Markup,
// markupsafe's rule: the arguments are escaped and the result is Markup.
Value percent_format(const Value& format, const Value& args, Interpreter& interp, size_t offset);

// Python str methods the filters share.
std::string python_strip(const std::string& s, const Value& chars, bool left, bool right);
std::string python_capitalize(const std::string& s);
std::vector<std::string> python_splitlines(const std::string& s);
Value python_split(const std::string& s, const Value& separator, int64_t max_split);

}  // namespace torchllm::jinja
