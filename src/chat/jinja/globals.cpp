// Global functions available to every template, as transformers sets them up.
#include <ctime>
#include <utility>

#include "chat/jinja/builtins.h"
#include "chat/jinja/lexer.h"

namespace torchllm::jinja {
namespace {

constexpr int64_t kMaxRange = 100000;  // Jinja's sandbox refuses larger ranges

Value range(const CallArgs& args, Interpreter& interp) {
  int64_t start = 0, stop = 0, step = 1;
  const auto& p = args.positional;
  for (const Value& v : p) {
    if (!v.is_int() && !v.is_bool())
      interp.fail("range() arguments must be integers", interp.current_offset());
  }
  if (p.size() == 1) {
    stop = p[0].as_int();
  } else if (p.size() == 2 || p.size() == 3) {
    start = p[0].as_int();
    stop = p[1].as_int();
    if (p.size() == 3) step = p[2].as_int();
  } else {
    interp.fail("range expected 1 to 3 arguments", interp.current_offset());
  }
  if (step == 0) interp.fail("range() arg 3 must not be zero", interp.current_offset());
  std::vector<Value> out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (static_cast<int64_t>(out.size()) >= kMaxRange) {
      interp.fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).",
                  interp.current_offset());
    }
    out.emplace_back(i);
  }
  return Value::list(std::move(out));
}

std::shared_ptr<ValueDict> attributes_from(const CallArgs& args, Interpreter& interp) {
  auto attrs = std::make_shared<ValueDict>();
  for (const Value& v : args.positional) {
    if (!v.is_dict())
      interp.fail("namespace()/dict() take a mapping or keyword arguments", interp.current_offset());
    for (const auto& item : v.as_dict().items) attrs->set(item.first, item.second);
  }
  for (const auto& [key, value] : args.keyword) attrs->set(key, value);
  return attrs;
}

// Jinja's joiner(sep=", "): a callable that returns "" the first time and sep after that.
Value joiner(const CallArgs& args, Interpreter&) {
  const Value* sep = args.get(0, "sep");
  const Value separator = sep ? *sep : Value(", ");
  auto used = std::make_shared<bool>(false);
  return Value::function("joiner", [separator, used](const CallArgs&, Interpreter&) {
    return std::exchange(*used, true) ? separator : Value("");
  });
}

// Jinja's cycler(*items): .current, .next() (returns current, then advances) and .reset().
Value cycler(const CallArgs& args, Interpreter& interp) {
  if (args.positional.empty()) interp.fail("at least one item has to be provided", interp.current_offset());
  auto attrs = std::make_shared<ValueDict>();
  const std::vector<Value> items = args.positional;
  auto position = std::make_shared<size_t>(0);
  std::weak_ptr<ValueDict> weak = attrs;  // the methods live in the dict they update
  attrs->set(Value("current"), items[0]);
  attrs->set(Value("next"), Value::function("next", [items, position, weak](const CallArgs&, Interpreter&) {
               const Value current = items[*position];
               *position = (*position + 1) % items.size();
               if (auto a = weak.lock()) a->set(Value("current"), items[*position]);
               return current;
             }));
  attrs->set(Value("reset"), Value::function("reset", [items, position, weak](const CallArgs&, Interpreter&) {
               *position = 0;
               if (auto a = weak.lock()) a->set(Value("current"), items[0]);
               return Value::none();
             }));
  return Value::namespace_object(attrs);
}

}  // namespace

void add_global_functions(ValueDict& globals) {
  globals.set("range", Value::function("range", range));
  globals.set("namespace", Value::function("namespace", [](const CallArgs& args, Interpreter& interp) {
                return Value::namespace_object(attributes_from(args, interp));
              }));
  globals.set("dict", Value::function("dict", [](const CallArgs& args, Interpreter& interp) {
                return Value::dict(attributes_from(args, interp));
              }));
  globals.set("joiner", Value::function("joiner", joiner));
  globals.set("cycler", Value::function("cycler", cycler));
  globals.set("raise_exception",
              Value::function("raise_exception", [](const CallArgs& args, Interpreter&) -> Value {
                const Value* message = args.get(0, "message");
                throw RaisedException(message ? message->str() : "");
              }));
  globals.set("strftime_now", Value::function("strftime_now", [](const CallArgs& args, Interpreter& interp) {
                const Value* format = args.get(0, "format");
                if (!format || !format->is_string())
                  interp.fail("strftime_now(format) needs a string", interp.current_offset());
                const std::time_t now = std::time(nullptr);
                std::tm local{};
                localtime_r(&now, &local);
                char buf[512];
                const size_t n = std::strftime(buf, sizeof(buf), format->as_string().c_str(), &local);
                return Value(std::string(buf, n));
              }));
}

}  // namespace torchllm::jinja
