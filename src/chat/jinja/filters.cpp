// Jinja2's built-in filters (the ones chat templates use), with transformers' tojson.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "chat/jinja/builtins.h"
#include "chat/jinja/filter_call.h"
#include "chat/jinja/unicode.h"

namespace torchllm::jinja {
namespace {

int64_t length_of(const FilterCall& f) {
  const Value& v = f.subject;
  if (v.is_undefined()) return 0;
  if (v.is_string()) return static_cast<int64_t>(decode_utf8(v.as_string()).size());
  if (v.is_generator()) f.fail("object of type 'generator' has no len()");
  if (v.is_list()) return static_cast<int64_t>(v.as_list().items.size());
  if (v.is_dict() || v.is_namespace()) return static_cast<int64_t>(v.as_dict().items.size());
  f.fail("object of type '" + v.type_name() + "' has no len()");
}

// Jinja's title filter: capitalize each word, words starting after -, whitespace, ( { [ or <.
std::string jinja_title(const std::string& s) {
  std::string out;
  bool word_start = true;
  for (char32_t cp : decode_utf8(s)) {
    const bool boundary =
        is_python_space(cp) || cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<';
    if (boundary) {
      append_utf8(out, cp);
      word_start = true;
    } else {
      append_utf8(out, word_start ? upper_cp(cp) : lower_cp(cp));
      word_start = false;
    }
  }
  return out;
}

// select / reject / selectattr / rejectattr
Value select_items(FilterCall& f, bool keep_matching, bool by_attribute) {
  std::vector<Value> out;
  if (!f.subject.truthy()) return Value::generator({});  // Jinja tests `if value:` before iterating
  size_t test_arg = by_attribute ? 1 : 0;
  std::string attribute;
  if (by_attribute) {
    const Value a = f.arg(0, "attribute", Value());
    if (!a.is_string()) f.fail("selectattr/rejectattr need an attribute name");
    attribute = a.as_string();
  }
  const Value* test = test_arg < f.args.positional.size() ? &f.args.positional[test_arg] : nullptr;
  CallArgs test_args;
  for (size_t i = test_arg + 1; i < f.args.positional.size(); ++i)
    test_args.positional.push_back(f.args.positional[i]);
  for (const Value& item : iterate(f.subject, f.interp, f.offset)) {
    const Value probe = by_attribute ? attribute_of(item, attribute) : item;
    const bool matches = test ? f.interp.apply_test(test->str(), probe, test_args, f.offset) : probe.truthy();
    if (matches == keep_matching) out.push_back(item);
  }
  return Value::generator(std::move(out));
}

std::string indent_text(const std::string& text, const Value& width, bool first, bool blank) {
  const std::string indention =
      width.is_string() ? width.as_string()
                        : std::string(static_cast<size_t>(std::max<int64_t>(0, width.as_int())), ' ');
  const std::vector<std::string> lines = python_splitlines(text + "\n");  // Jinja's own quirk: s + "\n"
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + indention : "") + lines[i];
  } else {
    rv = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i)
      rv += "\n" + (lines[i].empty() ? lines[i] : indention + lines[i]);
  }
  return first ? indention + rv : rv;
}

// Python's int(text, base): sign, a 0x/0o/0b prefix where the base allows it (base 0 reads it), single
// underscores between digits. False where Python raises (or the value does not fit in 64 bits).
bool parse_python_int(const std::string& text, int64_t base, int64_t& out) {
  if (base != 0 && (base < 2 || base > 36)) return false;
  const std::string s = python_strip(text, Value::none(), true, true);
  size_t i = !s.empty() && (s[0] == '+' || s[0] == '-') ? 1 : 0;
  const bool negative = i == 1 && s[0] == '-';
  bool prefixed = false;
  if (i + 1 < s.size() && s[i] == '0') {
    const char p = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i + 1])));
    const int64_t prefix_base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
    if (prefix_base != 0 && (base == 0 || base == prefix_base)) {
      base = prefix_base;
      prefixed = true;
      i += 2;
    }
  }
  const bool auto_decimal = base == 0;
  if (auto_decimal) base = 10;
  uint64_t value = 0;
  size_t digits = 0;
  bool nonzero = false, previous_underscore = prefixed;  // "0x_1f" is valid, "_1" is not
  for (; i < s.size(); ++i) {
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
    if (c == '_') {
      if (digits == 0 && !prefixed) return false;
      if (previous_underscore && digits > 0) return false;
      previous_underscore = true;
      continue;
    }
    const int64_t d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                      : (c >= 'a' && c <= 'z')                    ? c - 'a' + 10
                                                                  : 99;
    if (d >= base) return false;
    if (value > (static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base))
      return false;
    value = value * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    nonzero |= d != 0;
    ++digits;
    previous_underscore = false;
  }
  if (digits == 0 || previous_underscore) return false;
  if (auto_decimal && !prefixed && nonzero && s[negative || s[0] == '+' ? 1 : 0] == '0')
    return false;  // "010"
  out = negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
  return true;
}

}  // namespace

bool parse_python_float(const std::string& text, double& out) {
  const std::string s = python_strip(text, Value::none(), true, true);
  if (s.empty()) return false;
  std::string lower = to_lower(s);
  for (const char* special :
       {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan", "+nan", "-nan"}) {
    if (lower == special) {
      out = std::strtod(lower.c_str(), nullptr);
      return true;
    }
  }
  for (char c : s) {
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' || c == '+' ||
          c == '-' || c == '_'))
      return false;
  }
  std::string cleaned;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '_') {
      cleaned.push_back(s[i]);
    } else if (i == 0 || i + 1 == s.size() || !std::isdigit(static_cast<unsigned char>(s[i - 1])) ||
               !std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      return false;  // Python takes an underscore only between two digits
    }
  }
  char* end = nullptr;
  out = std::strtod(cleaned.c_str(), &end);
  return end && *end == 0;
}

bool is_filter_name(const std::string& name) {
  // Jinja2 3.1's DEFAULT_FILTERS (striptags, wordwrap, pprint and urlize are not implemented here).
  static const char* const kFilters[] = {
      "abs",    "attr",       "batch",       "capitalize", "center",   "count",
      "d",      "default",    "dictsort",    "e",          "escape",   "filesizeformat",
      "first",  "float",      "forceescape", "format",     "groupby",  "indent",
      "int",    "items",      "join",        "last",       "length",   "list",
      "lower",  "map",        "max",         "min",        "pprint",   "random",
      "reject", "rejectattr", "replace",     "reverse",    "round",    "safe",
      "select", "selectattr", "slice",       "sort",       "string",   "striptags",
      "sum",    "title",      "tojson",      "trim",       "truncate", "unique",
      "upper",  "urlencode",  "urlize",      "wordcount",  "wordwrap", "xmlattr"};
  for (const char* filter : kFilters) {
    if (name == filter) return true;
  }
  return false;
}

Value attribute_of(const Value& item, const std::string& path) {
  Value v = item;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (v.is_undefined()) return v;
    if (!part.empty() && std::all_of(part.begin(), part.end(), ::isdigit) && v.is_list()) {
      const size_t index = std::stoul(part);
      v = index < v.as_list().items.size() ? v.as_list().items[index] : Value::undefined();
    } else if (v.is_dict() || v.is_namespace()) {
      const Value* found = v.as_dict().find(part);
      v = found ? *found : Value::undefined("'dict object' has no attribute '" + part + "'");
    } else if (v.is_list() && v.as_list().field(part)) {
      v = *v.as_list().field(part);
    } else {
      v = Value::undefined("'" + v.type_name() + "' has no attribute '" + part + "'");
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return v;
}

Value sort_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value(to_lower(v.as_string()));
  return v;
}

void python_sort(std::vector<Value>& items, const std::function<Value(const Value&)>& key, bool reverse,
                 FilterCall& f) {
  try {
    std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
      const int c = python_compare(key(a), key(b));
      return reverse ? c > 0 : c < 0;
    });
  } catch (const std::invalid_argument& e) {
    f.fail(e.what());
  }
}

Value call_filter(const std::string& name, const Value& subject, const CallArgs& args, Interpreter& interp,
                  size_t offset) {
  FilterCall f{subject, args, interp, offset};
  const Value none = Value::none();
  if (name == "length" || name == "count") return Value(length_of(f));
  // Filters that go through soft_str keep Markup Markup (markupsafe wraps the str methods they call).
  auto soft = [&](std::string s) {
    return subject.is_markup() ? Value::markup(std::move(s)) : Value(std::move(s));
  };
  if (name == "string") return soft(subject.str());
  if (name == "safe") return Value::markup(subject.str());
  if (name == "upper") return soft(to_upper(subject.str()));
  if (name == "lower") return soft(to_lower(subject.str()));
  if (name == "title") return Value(jinja_title(subject.str()));
  if (name == "capitalize") return soft(python_capitalize(subject.str()));
  if (name == "trim") {
    const Value chars = f.arg(0, "chars", none);
    return soft(python_strip(
        subject.str(), subject.is_markup() && chars.is_string() ? escape_value(chars) : chars, true, true));
  }
  if (name == "replace") {
    const Value old = f.arg(0, "old", none);
    const Value replacement = f.arg(1, "new", none);
    const Value count = f.arg(2, "count", none);
    CallArgs method_args;
    method_args.positional = {Value(old.str()), Value(replacement.str())};
    if (!count.is_none()) method_args.positional.push_back(count);
    return interp.call(bound_method(Value(subject.str()), "replace"), method_args, offset);
  }
  if (name == "default" || name == "d") {
    const bool boolean = f.arg(1, "boolean", Value(false)).truthy();
    if (subject.is_undefined() || (boolean && !subject.truthy())) return f.arg(0, "default_value", Value(""));
    return subject;
  }
  if (name == "join") {
    const Value separator = f.arg(0, "d", Value(""));
    const Value attribute = f.arg(1, "attribute", none);
    std::string out;
    bool first = true;
    for (const Value& item : iterate(subject, interp, offset)) {
      if (!first) out += separator.str();
      first = false;
      out += (attribute.is_none() ? item : attribute_of(item, attribute.str())).str();
    }
    return Value(std::move(out));
  }
  if (name == "first") {
    const auto items = iterate(subject, interp, offset);
    return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
  }
  if (name == "last") {
    const auto items = iterate(subject, interp, offset);
    return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
  }
  if (name == "list") return Value::list(iterate(subject, interp, offset));
  if (name == "reverse") {
    if (subject.is_string()) {
      auto cps = decode_utf8(subject.as_string());
      std::reverse(cps.begin(), cps.end());
      return soft(encode_utf8(cps));
    }
    auto items = iterate(subject, interp, offset);
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  if (name == "int") {
    const Value fallback = f.arg(0, "default", Value(int64_t{0}));
    const Value base = f.arg(1, "base", Value(int64_t{10}));
    if (subject.is_int() || subject.is_bool()) return Value(subject.as_int());
    if (subject.is_float())
      return std::isfinite(subject.as_double()) ? Value(static_cast<int64_t>(subject.as_double())) : fallback;
    if (subject.is_string()) {
      int64_t i = 0;
      double d = 0;
      if ((base.is_int() || base.is_bool()) && parse_python_int(subject.as_string(), base.as_int(), i))
        return Value(i);
      if (parse_python_float(subject.as_string(), d) && std::isfinite(d)) {
        if (std::fabs(d) >= 9.2e18)
          f.fail("integer too large (Python's ints are unbounded, ours are 64-bit)");
        return Value(static_cast<int64_t>(d));
      }
    }
    return fallback;
  }
  if (name == "float") {
    const Value fallback = f.arg(0, "default", Value(0.0));
    if (subject.is_number()) return Value(subject.as_double());
    double d = 0;
    if (subject.is_string() && parse_python_float(subject.as_string(), d)) return Value(d);
    return fallback;
  }
  if (name == "abs") {
    if (subject.is_float()) return Value(std::fabs(subject.as_double()));
    if (subject.is_int() || subject.is_bool())
      return Value(static_cast<int64_t>(std::llabs(subject.as_int())));
    f.fail("bad operand type for abs()");
  }
  if (name == "items") {
    if (subject.is_undefined()) return Value::generator({});
    if (!subject.is_dict()) f.fail("Can only get item pairs from a mapping.");
    return Value::generator(interp.call(bound_method(subject, "items"), CallArgs{}, offset).as_list().items);
  }
  if (name == "dictsort") {
    if (!subject.is_dict()) f.fail("You can only sort by either 'key' or 'value'");
    const bool case_sensitive = f.arg(0, "case_sensitive", Value(false)).truthy();
    const std::string by = f.arg(1, "by", Value("key")).str();
    const bool reverse = f.arg(2, "reverse", Value(false)).truthy();
    if (by != "key" && by != "value") f.fail("You can only sort by either 'key' or 'value'");
    std::vector<Value> pairs =
        interp.call(bound_method(subject, "items"), CallArgs{}, offset).as_list().items;
    const size_t pos = by == "key" ? 0 : 1;
    python_sort(
        pairs, [&](const Value& p) { return sort_key(p.as_list().items[pos], case_sensitive); }, reverse, f);
    return Value::list(std::move(pairs));
  }
  if (name == "sort") {
    std::vector<Value> items = iterate(subject, interp, offset);
    const bool reverse = f.arg(0, "reverse", Value(false)).truthy();
    const bool case_sensitive = f.arg(1, "case_sensitive", Value(false)).truthy();
    const Value attribute = f.arg(2, "attribute", none);
    python_sort(
        items,
        [&](const Value& v) {
          return sort_key(attribute.is_none() ? v : attribute_of(v, attribute.str()), case_sensitive);
        },
        reverse, f);
    return Value::list(std::move(items));
  }
  if (name == "unique") {
    const bool case_sensitive = f.arg(0, "case_sensitive", Value(false)).truthy();
    const Value attribute = f.arg(1, "attribute", none);
    std::vector<Value> out, seen;
    for (const Value& item : iterate(subject, interp, offset)) {
      Value key = sort_key(attribute.is_none() ? item : attribute_of(item, attribute.str()), case_sensitive);
      if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return s.equals(key); })) {
        seen.push_back(key);
        out.push_back(item);
      }
    }
    return Value::generator(std::move(out));
  }
  if (name == "map") {
    std::vector<Value> out;
    if (!subject.truthy()) return Value::generator({});  // as select: `if value:` first
    const Value* attribute = args.get(SIZE_MAX, "attribute");
    if (attribute) {
      const Value fallback = f.arg(SIZE_MAX, "default", Value());
      for (const Value& item : iterate(subject, interp, offset)) {
        Value v = attribute_of(item, attribute->str());
        out.push_back(v.is_undefined() && args.get(SIZE_MAX, "default") ? fallback : v);
      }
      return Value::generator(std::move(out));
    }
    if (args.positional.empty()) f.fail("map requires a filter argument");
    CallArgs filter_args;
    filter_args.positional.assign(args.positional.begin() + 1, args.positional.end());
    filter_args.keyword = args.keyword;
    for (const Value& item : iterate(subject, interp, offset)) {
      out.push_back(call_filter(args.positional[0].str(), item, filter_args, interp, offset));
    }
    return Value::generator(std::move(out));
  }
  if (name == "select") return select_items(f, true, false);
  if (name == "reject") return select_items(f, false, false);
  if (name == "selectattr") return select_items(f, true, true);
  if (name == "rejectattr") return select_items(f, false, true);
  if (name == "tojson") {
    const Value indent = f.arg(SIZE_MAX, "indent", f.arg(0, "indent", none));
    const Value separators = f.arg(SIZE_MAX, "separators", none);
    const bool sort_keys = f.arg(SIZE_MAX, "sort_keys", Value(false)).truthy();
    const bool ensure_ascii = f.arg(SIZE_MAX, "ensure_ascii", Value(false)).truthy();
    const int indent_n = indent.is_none() ? -1 : static_cast<int>(indent.as_int());
    std::string item_sep = indent.is_none() ? ", " : ",", key_sep = ": ";
    if (separators.is_list() && separators.as_list().items.size() == 2) {
      item_sep = separators.as_list().items[0].str();
      key_sep = separators.as_list().items[1].str();
    }
    return Value(json_dumps(subject, indent_n, item_sep, key_sep, sort_keys, ensure_ascii, interp, offset));
  }
  if (name == "indent") {
    return soft(indent_text(subject.str(), f.arg(0, "width", Value(int64_t{4})),
                            f.arg(1, "first", Value(false)).truthy(),
                            f.arg(2, "blank", Value(false)).truthy()));
  }
  if (name == "round") {
    const int64_t precision = f.arg(0, "precision", Value(int64_t{0})).as_int();
    const std::string method = f.arg(1, "method", Value("common")).str();
    const double scale = std::pow(10.0, static_cast<double>(precision));
    const double x = subject.as_double() * scale;
    const double r = method == "ceil" ? std::ceil(x) : method == "floor" ? std::floor(x) : std::nearbyint(x);
    return Value(r / scale);
  }
  if (name == "sum") {
    const Value attribute = f.arg(0, "attribute", none);
    Value total = f.arg(1, "start", Value(int64_t{0}));
    for (const Value& item : iterate(subject, interp, offset)) {
      const Value v = attribute.is_none() ? item : attribute_of(item, attribute.str());
      if (!v.is_number() || !total.is_number()) f.fail("unsupported operand type(s) for +");
      total = (total.is_float() || v.is_float()) ? Value(total.as_double() + v.as_double())
                                                 : Value(total.as_int() + v.as_int());
    }
    return total;
  }
  if (name == "attr") {
    const Value attribute = f.arg(0, "name", none);
    if (subject.is_dict() || subject.is_namespace()) {
      const Value* v = subject.as_dict().find(attribute.str());
      if (v && subject.is_namespace()) return *v;
    }
    return Value::undefined("'" + subject.type_name() + "' has no attribute '" + attribute.str() + "'");
  }
  Value result;
  if (text_filter(name, f, result) || sequence_filter(name, f, result)) return result;
  f.fail("No filter named '" + name + "'.");
}

}  // namespace torchllm::jinja
