#pragma once

// Values of the template language, with Python's semantics (templates are written against Jinja2 running in
// Python): lists and dicts are shared by reference, dicts keep insertion order, printing follows
// str()/repr().

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace torchllm::jinja {

class Value;
class Interpreter;

struct ValueList {
  std::vector<Value> items;
  bool is_tuple = false;
  // What Jinja2's map/select/unique/... return: iterable once, always true, no len(), no indexing, not JSON.
  bool is_generator = false;
  // A named tuple's field names (groupby's (grouper, list)): item i is also attribute fields[i].
  std::vector<std::string> fields;
  const Value* field(const std::string& name) const;
};

// Keys are any hashable value, compared as Python compares them (1 == 1.0 == True); attribute-style lookups
// by name find string keys only.
struct ValueDict {
  std::vector<std::pair<Value, Value>> items;
  const Value* find(const Value& key) const;
  const Value* find(const std::string& key) const;
  void set(Value key, Value value);
};

// Arguments of a call: positional then keyword, as written.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  // The argument at `index` or named `name`, or nullptr.
  const Value* get(size_t index, const std::string& name) const;
};

using NativeFunction = std::function<Value(const CallArgs&, Interpreter&)>;

struct Callable {
  std::string name;
  NativeFunction fn;
};

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace, kCallable };

  Value() = default;  // undefined
  static Value undefined(std::string hint = "");
  static Value none();
  Value(bool b);
  Value(int64_t i);
  Value(int i) : Value(static_cast<int64_t>(i)) {}
  Value(double f);
  Value(std::string s);
  Value(const char* s) : Value(std::string(s)) {}
  static Value list(std::vector<Value> items = {}, bool is_tuple = false);
  static Value generator(std::vector<Value> items);
  static Value named_tuple(std::vector<std::string> fields, std::vector<Value> items);
  static Value dict(std::shared_ptr<ValueDict> d = nullptr);
  static Value namespace_object(std::shared_ptr<ValueDict> attrs);
  static Value function(std::string name, NativeFunction fn);
  // markupsafe's Markup: a str that is already escaped; combined with plain strings it escapes them.
  static Value markup(std::string s);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat || kind_ == Kind::kBool; }
  bool is_string() const { return kind_ == Kind::kString; }  // str or Markup
  bool is_markup() const { return kind_ == Kind::kString && b_; }
  bool is_list() const { return kind_ == Kind::kList; }  // list, tuple or generator
  bool is_generator() const { return kind_ == Kind::kList && list_->is_generator; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_namespace() const { return kind_ == Kind::kNamespace; }
  bool is_callable() const { return kind_ == Kind::kCallable; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return kind_ == Kind::kBool ? (b_ ? 1 : 0) : i_; }
  double as_double() const { return kind_ == Kind::kFloat ? f_ : static_cast<double>(as_int()); }
  const std::string& as_string() const { return s_; }
  ValueList& as_list() const { return *list_; }
  ValueDict& as_dict() const { return *dict_; }
  const Callable& as_callable() const { return *fn_; }
  // For undefined values: what was looked up, for error messages.
  const std::string& hint() const { return s_; }

  bool truthy() const;
  std::string str() const;        // Python str()
  std::string repr() const;       // Python repr()
  std::string type_name() const;  // as Jinja names objects in errors: "str object", "dict object", ...
  bool equals(const Value& other) const;
  // Python's hashability (dict keys): not lists or dicts (tuples of hashable values are).
  bool hashable() const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;  // a bool's value; for a string, whether it is Markup
  int64_t i_ = 0;
  double f_ = 0;
  std::string s_;
  std::shared_ptr<ValueList> list_;
  std::shared_ptr<ValueDict> dict_;  // also a namespace's attributes
  std::shared_ptr<Callable> fn_;
};

// Python's repr() of a float: the shortest string that reads back to the same double.
std::string python_float_repr(double f);
// Python's repr() of a str.
std::string python_string_repr(const std::string& s);
// markupsafe.escape of a plain string: & < > " ' as HTML entities.
std::string html_escape(const std::string& s);
// markupsafe.escape(v): Markup as is, anything else its str() escaped, as Markup.
Value escape_value(const Value& v);

}  // namespace torchllm::jinja
