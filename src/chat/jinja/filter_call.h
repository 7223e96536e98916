#pragma once

// What the built-in filters share: the call (subject, arguments, where), attribute paths, Python's sort.

#include <functional>
#include <string>
#include <vector>

#include "chat/jinja/interpreter.h"
#include "chat/jinja/value.h"

namespace torchllm::jinja {

struct FilterCall {
  const Value& subject;
  const CallArgs& args;
  Interpreter& interp;
  size_t offset;

  Value arg(size_t i, const char* name, const Value& fallback) const {
    const Value* v = args.get(i, name);
    return v ? *v : fallback;
  }
  [[noreturn]] void fail(const std::string& m) const { interp.fail(m, offset); }
};

// Attribute lookup as filters do it (Jinja's make_attrgetter): dotted paths, integer parts index lists.
Value attribute_of(const Value& item, const std::string& path);
// A sort key: strings lower-cased unless case_sensitive (Jinja's ignore_case).
Value sort_key(const Value& v, bool case_sensitive);
// A stable sort with Python's ordering; a TypeError of Python's becomes a template error.
void python_sort(std::vector<Value>& items, const std::function<Value(const Value&)>& key, bool reverse,
                 FilterCall& f);

// Python's float(text): surrounding whitespace, underscores between digits, inf/nan spellings. False when
// Python would raise ValueError.
bool parse_python_float(const std::string& text, double& out);

// The filters of each file; they return false for a name they do not know.
bool text_filter(const std::string& name, FilterCall& f, Value& result);
bool sequence_filter(const std::string& name, FilterCall& f, Value& result);

}  // namespace torchllm::jinja
