#include "chat/jinja/interpreter.h"

#include <cmath>
#include <stdexcept>

#include "chat/jinja/builtins.h"
#include "chat/jinja/unicode.h"

namespace torchllm::jinja {
namespace {

// Python's slice.indices(length) followed by the index walk.
std::vector<int64_t> slice_indices(int64_t length, const Value& start_v, const Value& stop_v,
                                   const Value& step_v) {
  auto is_set = [](const Value& v) { return !v.is_undefined() && !v.is_none(); };
  const int64_t step = is_set(step_v) ? step_v.as_int() : 1;
  int64_t start, stop;
  auto clamp = [&](const Value& v, int64_t fallback_pos, int64_t fallback_neg) {
    if (!is_set(v)) return step > 0 ? fallback_pos : fallback_neg;
    int64_t x = v.as_int();
    if (x < 0) {
      x += length;
      if (x < 0) x = step < 0 ? -1 : 0;
    } else if (x >= length) {
      x = step < 0 ? length - 1 : length;
    }
    return x;
  };
  start = clamp(start_v, 0, length - 1);
  stop = clamp(stop_v, length, -1);
  std::vector<int64_t> out;
  if (step > 0) {
    for (int64_t i = start; i < stop; i += step) out.push_back(i);
  } else {
    for (int64_t i = start; i > stop; i += step) out.push_back(i);
  }
  return out;
}

}  // namespace

Interpreter::Interpreter(const Lexer& lexer, const RenderLimits& limits) : lexer_(lexer), limits_(limits) {}

void Interpreter::fail(const std::string& message, size_t offset) const { lexer_.fail(message, offset); }

void Interpreter::fail_undefined(const Value& undefined, size_t offset) const {
  fail(undefined.hint().empty() ? "value is undefined" : undefined.hint(), offset);
}

void Interpreter::step(size_t offset) {
  if (++steps_ > limits_.max_steps) fail("template exceeded its work limit (runaway loop?)", offset);
}

void Interpreter::append(std::string& out, const std::string& text) {
  if (out.size() + text.size() > limits_.max_output_bytes) {
    fail("template output exceeds " + std::to_string(limits_.max_output_bytes) + " bytes", offset_);
  }
  out += text;
}

std::string Interpreter::render(const Body& body, const ValueDict& globals) {
  globals_ = &globals;
  scopes_ = {std::make_shared<Frame>()};
  std::string out;
  exec(body, out);
  return out;
}

Value Interpreter::lookup(const std::string& name) const {
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
    auto found = (*it)->find(name);
    if (found != (*it)->end()) return found->second;
  }
  if (const Value* v = globals_->find(name)) return *v;
  return Value::undefined("'" + name + "' is undefined");
}

void Interpreter::assign(const std::string& name, Value value) { (*scopes_.back())[name] = std::move(value); }

Interpreter::Flow Interpreter::exec(const Body& body, std::string& out) {
  for (const StmtPtr& s : body) {
    const Flow flow = exec_stmt(*s, out);
    if (flow != Flow::kNormal) return flow;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::exec_stmt(const Stmt& s, std::string& out) {
  offset_ = s.offset;
  step(s.offset);
  switch (s.kind) {
    case Stmt::Kind::kText:
      append(out, s.text);
      break;
    case Stmt::Kind::kOutput:
      append(out, eval(*s.expr).str());
      break;
    case Stmt::Kind::kIf:
      for (const auto& [condition, body] : s.branches) {
        if (!condition || eval(*condition).truthy()) return exec(body, out);
      }
      break;
    case Stmt::Kind::kFor:
      exec_for(s, out);
      break;
    case Stmt::Kind::kSet: {
      Value value = eval(*s.expr);
      if (!s.attribute.empty()) {
        Value target = lookup(s.targets[0]);
        if (!target.is_namespace()) fail("cannot assign attribute on non-namespace object", s.offset);
        target.as_dict().set(s.attribute, std::move(value));
      } else if (s.targets.size() == 1) {
        assign(s.targets[0], std::move(value));
      } else {
        const std::vector<Value> items = iterate(value, *this, s.offset);
        if (items.size() != s.targets.size()) fail("cannot unpack: wrong number of values", s.offset);
        for (size_t i = 0; i < items.size(); ++i) assign(s.targets[i], items[i]);
      }
      break;
    }
    case Stmt::Kind::kSetBlock: {
      std::string captured;
      exec(s.body, captured);
      assign(s.targets[0],
             s.expr ? apply_filter_chain(*s.expr, Value(std::move(captured))) : Value(std::move(captured)));
      break;
    }
    case Stmt::Kind::kMacro:
      assign(s.name, make_macro(s, nullptr));
      break;
    case Stmt::Kind::kCallBlock: {
      const Expr& call = *s.expr;
      Value callee = eval(*call.args[0]);
      CallArgs args = eval_args(call, 1);
      args.keyword.emplace_back("caller", make_macro(s, &s.body));
      append(out, this->call(callee, args, call.offset).str());
      break;
    }
    case Stmt::Kind::kFilterBlock: {
      std::string captured;
      exec(s.body, captured);
      append(out, apply_filter_chain(*s.expr, Value(std::move(captured))).str());
      break;
    }
    case Stmt::Kind::kBreak:
      return Flow::kBreak;
    case Stmt::Kind::kContinue:
      return Flow::kContinue;
    case Stmt::Kind::kScope:
      return exec(s.body, out);
  }
  return Flow::kNormal;
}

void Interpreter::exec_for(const Stmt& s, std::string& out) {
  std::vector<Value> items = iterate(eval(*s.expr), *this, s.offset);
  auto bind = [&](Frame& frame, const Value& item) {
    if (s.targets.size() == 1) {
      frame[s.targets[0]] = item;
      return;
    }
    const std::vector<Value> parts = iterate(item, *this, s.offset);
    if (parts.size() != s.targets.size()) fail("cannot unpack loop item: wrong number of values", s.offset);
    for (size_t i = 0; i < parts.size(); ++i) frame[s.targets[i]] = parts[i];
  };
  if (s.condition) {
    std::vector<Value> kept;
    for (const Value& item : items) {
      step(s.offset);
      auto frame = std::make_shared<Frame>();
      bind(*frame, item);
      scopes_.push_back(frame);
      const bool keep = eval(*s.condition).truthy();
      scopes_.pop_back();
      if (keep) kept.push_back(item);
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    exec(s.else_body, out);
    return;
  }
  const auto n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    step(s.offset);
    auto frame = std::make_shared<Frame>();
    bind(*frame, items[i]);
    auto loop = std::make_shared<ValueDict>();
    loop->set("index", Value(i + 1));
    loop->set("index0", Value(i));
    loop->set("revindex", Value(n - i));
    loop->set("revindex0", Value(n - i - 1));
    loop->set("first", Value(i == 0));
    loop->set("last", Value(i == n - 1));
    loop->set("length", Value(n));
    loop->set("depth", Value(int64_t{1}));
    loop->set("depth0", Value(int64_t{0}));
    loop->set("previtem", i > 0 ? items[i - 1] : Value::undefined("there is no previous item"));
    loop->set("nextitem", i + 1 < n ? items[i + 1] : Value::undefined("there is no next item"));
    loop->set("cycle", Value::function("cycle", [i](const CallArgs& args, Interpreter& interp) {
                if (args.positional.empty())
                  interp.fail("no items for cycling given", interp.current_offset());
                return args.positional[static_cast<size_t>(i) % args.positional.size()];
              }));
    (*frame)["loop"] = Value::dict(loop);
    scopes_.push_back(frame);
    const Flow flow = exec(s.body, out);
    scopes_.pop_back();
    if (flow == Flow::kBreak) break;
  }
}

Value Interpreter::make_macro(const Stmt& s, const Body* caller_body) {
  // A macro sees the template's top level; a call block's caller sees everything at the call site. Frames are
  // held weakly: a macro stored in a frame it captures must not keep that frame alive.
  std::vector<std::weak_ptr<Frame>> captured;
  if (caller_body) {
    captured.assign(scopes_.begin(), scopes_.end());
  } else {
    captured.push_back(scopes_.front());
  }
  const Body* body = caller_body ? caller_body : &s.body;
  const std::string name = caller_body ? "caller" : s.name;
  return Value::function(name, [this, &s, body, captured, name](const CallArgs& args, Interpreter&) {
    if (call_depth_ + 1 > limits_.max_call_depth) {
      fail("macro recursion deeper than " + std::to_string(limits_.max_call_depth), s.offset);
    }
    if (args.positional.size() > s.params.size()) {
      fail("macro '" + name + "' takes not more than " + std::to_string(s.params.size()) + " argument(s)",
           s.offset);
    }
    std::vector<std::shared_ptr<Frame>> scopes;
    for (const auto& weak : captured) {
      auto frame = weak.lock();
      if (!frame) fail("macro '" + name + "' called outside the template that defined it", s.offset);
      scopes.push_back(std::move(frame));
    }
    auto frame = std::make_shared<Frame>();
    for (const auto& [key, value] : args.keyword) {
      bool known = key == "caller";
      for (const std::string& p : s.params) known |= p == key;
      if (!known) fail("macro '" + name + "' takes no keyword argument '" + key + "'", s.offset);
      (*frame)[key] = value;
    }
    scopes.push_back(frame);
    std::swap(scopes, scopes_);
    ++call_depth_;
    std::string out;
    try {
      for (size_t i = 0; i < s.params.size(); ++i) {
        if (i < args.positional.size()) {
          (*frame)[s.params[i]] = args.positional[i];
        } else if (!frame->count(s.params[i])) {
          (*frame)[s.params[i]] = s.defaults[i]
                                      ? eval(*s.defaults[i])
                                      : Value::undefined("parameter '" + s.params[i] + "' was not provided");
        }
      }
      exec(*body, out);
    } catch (...) {
      std::swap(scopes, scopes_);
      --call_depth_;
      throw;
    }
    std::swap(scopes, scopes_);
    --call_depth_;
    return Value(std::move(out));
  });
}

Value Interpreter::apply_filter_chain(const Expr& chain, Value block) {
  if (chain.kind != Expr::Kind::kFilter) return block;  // the placeholder at the bottom of the chain
  Value inner = apply_filter_chain(*chain.args[0], std::move(block));
  return apply_filter(chain.name, inner, eval_args(chain, 1), chain.offset);
}

CallArgs Interpreter::eval_args(const Expr& e, size_t first) {
  CallArgs args;
  for (size_t i = first; i < e.args.size(); ++i) args.positional.push_back(eval(*e.args[i]));
  for (const auto& [key, value] : e.kwargs) args.keyword.emplace_back(key, eval(*value));
  return args;
}

Value Interpreter::call(const Value& callee, const CallArgs& args, size_t offset) {
  if (callee.is_undefined()) fail_undefined(callee, offset);
  if (!callee.is_callable()) fail("'" + python_type_name(callee) + "' object is not callable", offset);
  return callee.as_callable().fn(args, *this);
}

Value Interpreter::apply_filter(const std::string& name, const Value& subject, const CallArgs& args,
                                size_t offset) {
  return call_filter(name, subject, args, *this, offset);
}

bool Interpreter::apply_test(const std::string& name, const Value& subject, const CallArgs& args,
                             size_t offset) {
  return call_test(name, subject, args, *this, offset);
}

Value Interpreter::get_attr(const Value& obj, const std::string& name, size_t offset) {
  if (obj.is_undefined()) fail_undefined(obj, offset);
  if (obj.is_dict() || obj.is_string() || obj.is_list()) {
    Value method = bound_method(obj, name);
    if (!method.is_undefined()) return method;
  }
  if (obj.is_dict() || obj.is_namespace()) {
    if (const Value* v = obj.as_dict().find(name)) return *v;
  }
  if (obj.is_list()) {
    if (const Value* v = obj.as_list().field(name)) return *v;
  }
  return Value::undefined("'" + obj.type_name() + "' has no attribute '" + name + "'");
}

Value Interpreter::get_item(const Value& obj, const Value& key, size_t offset) {
  if (obj.is_undefined()) fail_undefined(obj, offset);
  // Jinja's getitem falls back to getattr when subscripting raises: a generator gives undefined.
  if (obj.is_generator()) return Value::undefined("'generator object' has no element " + key.repr());
  if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    int64_t index = key.as_int();
    if (obj.is_list()) {
      const auto n = static_cast<int64_t>(obj.as_list().items.size());
      if (index < 0) index += n;
      if (index >= 0 && index < n) return obj.as_list().items[static_cast<size_t>(index)];
    } else {
      const auto cps = decode_utf8(obj.as_string());
      const auto n = static_cast<int64_t>(cps.size());
      if (index < 0) index += n;
      if (index >= 0 && index < n) {
        std::string c = encode_utf8({cps[static_cast<size_t>(index)]});
        return obj.is_markup() ? Value::markup(std::move(c)) : Value(std::move(c));
      }
    }
    return Value::undefined("'" + obj.type_name() + "' has no element " + key.repr());
  }
  if (obj.is_dict() && key.hashable()) {
    if (const Value* v = obj.as_dict().find(key)) return *v;
  }
  if (obj.is_namespace() && key.is_string()) {
    if (const Value* v = obj.as_dict().find(key.as_string())) return *v;
  }
  if (key.is_string()) return get_attr(obj, key.as_string(), offset);
  return Value::undefined("'" + obj.type_name() + "' has no element " + key.repr());
}

Value Interpreter::slice(const Value& obj, const Value& start, const Value& stop, const Value& step_v,
                         size_t offset) {
  if (obj.is_undefined()) fail_undefined(obj, offset);
  for (const Value* v : {&start, &stop, &step_v}) {
    if (!v->is_undefined() && !v->is_none() && !v->is_int() && !v->is_bool()) {
      fail("slice indices must be integers or None", offset);
    }
  }
  if (!step_v.is_undefined() && !step_v.is_none() && step_v.as_int() == 0)
    fail("slice step cannot be zero", offset);
  if (obj.is_generator()) return Value::undefined("'generator object' has no element slice");
  if (obj.is_list()) {
    const auto& items = obj.as_list().items;
    std::vector<Value> out;
    for (int64_t i : slice_indices(static_cast<int64_t>(items.size()), start, stop, step_v))
      out.push_back(items[i]);
    return Value::list(std::move(out), obj.as_list().is_tuple);
  }
  if (obj.is_string()) {
    const auto cps = decode_utf8(obj.as_string());
    std::vector<char32_t> out;
    for (int64_t i : slice_indices(static_cast<int64_t>(cps.size()), start, stop, step_v))
      out.push_back(cps[i]);
    return obj.is_markup() ? Value::markup(encode_utf8(out)) : Value(encode_utf8(out));
  }
  fail("'" + python_type_name(obj) + "' object is not subscriptable", offset);
}

Value Interpreter::eval(const Expr& e) {
  step(e.offset);
  switch (e.kind) {
    case Expr::Kind::kLiteral:
      return e.literal;
    case Expr::Kind::kName:
      return lookup(e.name);
    case Expr::Kind::kList:
    case Expr::Kind::kTuple: {
      std::vector<Value> items;
      for (const auto& item : e.args) items.push_back(eval(*item));
      return Value::list(std::move(items), e.kind == Expr::Kind::kTuple);
    }
    case Expr::Kind::kDict: {
      auto dict = std::make_shared<ValueDict>();
      for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
        Value key = eval(*e.args[i]);
        if (!key.hashable()) fail("unhashable type: '" + python_type_name(key) + "'", e.args[i]->offset);
        dict->set(std::move(key), eval(*e.args[i + 1]));
      }
      return Value::dict(dict);
    }
    case Expr::Kind::kGetAttr:
      return get_attr(eval(*e.args[0]), e.name, e.offset);
    case Expr::Kind::kGetItem: {
      Value obj = eval(*e.args[0]);
      return get_item(obj, eval(*e.args[1]), e.offset);
    }
    case Expr::Kind::kSlice: {
      Value obj = eval(*e.args[0]);
      Value parts[3];
      for (int i = 0; i < 3; ++i) parts[i] = e.args[i + 1] ? eval(*e.args[i + 1]) : Value::none();
      return slice(obj, parts[0], parts[1], parts[2], e.offset);
    }
    case Expr::Kind::kCall: {
      Value callee = eval(*e.args[0]);
      return call(callee, eval_args(e, 1), e.offset);
    }
    case Expr::Kind::kFilter: {
      Value subject = eval(*e.args[0]);
      return apply_filter(e.name, subject, eval_args(e, 1), e.offset);
    }
    case Expr::Kind::kTest: {
      Value subject = eval(*e.args[0]);
      return Value(apply_test(e.name, subject, eval_args(e, 1), e.offset) != e.negated);
    }
    case Expr::Kind::kNeg:
    case Expr::Kind::kPos: {
      Value v = eval(*e.args[0]);
      if (v.is_undefined()) fail_undefined(v, e.offset);
      if (!v.is_number())
        fail("bad operand type for unary " + std::string(e.kind == Expr::Kind::kNeg ? "-" : "+") + ": '" +
                 python_type_name(v) + "'",
             e.offset);
      if (e.kind == Expr::Kind::kPos) return v.is_bool() ? Value(v.as_int()) : v;
      return v.is_float() ? Value(-v.as_double()) : Value(-v.as_int());
    }
    case Expr::Kind::kNot:
      return Value(!eval(*e.args[0]).truthy());
    case Expr::Kind::kAnd: {
      Value left = eval(*e.args[0]);
      return left.truthy() ? eval(*e.args[1]) : left;
    }
    case Expr::Kind::kOr: {
      Value left = eval(*e.args[0]);
      return left.truthy() ? left : eval(*e.args[1]);
    }
    case Expr::Kind::kBinary: {
      Value a = eval(*e.args[0]);
      return eval_binary(e.name, a, eval(*e.args[1]), e.offset);
    }
    case Expr::Kind::kCompare: {
      Value left = eval(*e.args[0]);
      for (size_t i = 0; i < e.ops.size(); ++i) {
        Value right = eval(*e.args[i + 1]);
        if (!compare(e.ops[i], left, right, e.offset)) return Value(false);
        left = std::move(right);
      }
      return Value(true);
    }
    case Expr::Kind::kConcat: {
      std::string out;
      for (const auto& part : e.args) {
        out += eval(*part).str();
        if (out.size() > limits_.max_output_bytes) fail("string too large", e.offset);
      }
      return Value(std::move(out));
    }
    case Expr::Kind::kCondition:
      if (eval(*e.args[0]).truthy()) return eval(*e.args[1]);
      return e.args[2]
                 ? eval(*e.args[2])
                 : Value::undefined(
                       "the inline if-expression on line evaluated to false and no else section was defined");
  }
  fail("unknown expression", e.offset);
}

}  // namespace torchllm::jinja
