#pragma once

// Renders a parsed template. Bounded: output size, macro recursion and total work all have limits, so a
// hostile template ends in a TemplateError instead of a hang or a crash.

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/jinja/ast.h"
#include "chat/jinja/lexer.h"
#include "chat/jinja/value.h"

namespace torchllm::jinja {

struct RenderLimits {
  size_t max_output_bytes = 16u << 20;
  int max_call_depth = 200;
  uint64_t max_steps = 5'000'000;
};

class Interpreter {
 public:
  Interpreter(const Lexer& lexer, const RenderLimits& limits);

  std::string render(const Body& body, const ValueDict& globals);

  // For built-in filters, tests and methods.
  Value call(const Value& callee, const CallArgs& args, size_t offset);
  Value apply_filter(const std::string& name, const Value& subject, const CallArgs& args, size_t offset);
  bool apply_test(const std::string& name, const Value& subject, const CallArgs& args, size_t offset);
  [[noreturn]] void fail(const std::string& message, size_t offset) const;
  [[noreturn]] void fail_undefined(const Value& undefined, size_t offset) const;
  void step(size_t offset);
  size_t current_offset() const { return offset_; }

 private:
  enum class Flow { kNormal, kBreak, kContinue };
  using Frame = std::unordered_map<std::string, Value>;

  Flow exec(const Body& body, std::string& out);
  Flow exec_stmt(const Stmt& s, std::string& out);
  void exec_for(const Stmt& s, std::string& out);
  Value eval(const Expr& e);
  Value eval_binary(const std::string& op, const Value& a, const Value& b, size_t offset);
  bool compare(const std::string& op, const Value& a, const Value& b, size_t offset);
  Value get_attr(const Value& obj, const std::string& name, size_t offset);
  Value get_item(const Value& obj, const Value& key, size_t offset);
  Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step, size_t offset);
  CallArgs eval_args(const Expr& e, size_t first);
  // Applies a parsed "| f | g" chain (see Stmt::expr of filter and set blocks) to a rendered block.
  Value apply_filter_chain(const Expr& chain, Value block);
  Value make_macro(const Stmt& s, const Body* caller_body);
  Value lookup(const std::string& name) const;
  void assign(const std::string& name, Value value);
  void append(std::string& out, const std::string& text);

  const Lexer& lexer_;
  RenderLimits limits_;
  const ValueDict* globals_ = nullptr;
  std::vector<std::shared_ptr<Frame>> scopes_;
  int call_depth_ = 0;
  uint64_t steps_ = 0;
  size_t offset_ = 0;
};

// Python's name of a value's type ("int", "str", "list", ...), for error messages.
std::string python_type_name(const Value& v);
// Python's ordering for <, <=, >, >= between numbers, strings and lists; throws std::invalid_argument
// otherwise.
int python_compare(const Value& a, const Value& b);
// Python's iteration: list items, dict keys, string characters; undefined iterates as empty.
std::vector<Value> iterate(const Value& v, Interpreter& interp, size_t offset);

}  // namespace torchllm::jinja
