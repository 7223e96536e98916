// Methods of str, dict and list values that templates call (Python semantics).
#include <algorithm>

#include "chat/jinja/builtins.h"
#include "chat/jinja/unicode.h"

namespace torchllm::jinja {
namespace {

Value arg(const CallArgs& args, size_t i, const char* name, const Value& fallback) {
  const Value* v = args.get(i, name);
  return v ? *v : fallback;
}

const std::string& string_arg(const CallArgs& args, size_t i, const char* name, Interpreter& interp,
                              const char* method) {
  const Value* v = args.get(i, name);
  if (!v || !v->is_string())
    interp.fail(std::string(method) + "() argument must be str", interp.current_offset());
  return v->as_string();
}

std::string title_case(const std::string& s) {
  std::string out;
  bool previous_cased = false;
  for (char32_t cp : decode_utf8(s)) {
    const bool cased = is_cased_letter(cp);
    append_utf8(out, cased ? (previous_cased ? lower_cp(cp) : upper_cp(cp)) : cp);
    previous_cased = cased;
  }
  return out;
}

bool matches_affix(const std::string& s, const Value& affix, bool prefix, Interpreter& interp) {
  auto one = [&](const Value& a) {
    if (!a.is_string())
      interp.fail("startswith/endswith first arg must be str or a tuple of str", interp.current_offset());
    const std::string& x = a.as_string();
    if (x.size() > s.size()) return false;
    return prefix ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (affix.is_list()) {
    for (const Value& a : affix.as_list().items) {
      if (one(a)) return true;
    }
    return false;
  }
  return one(affix);
}

std::string replace_all(const std::string& s, const std::string& old, const std::string& replacement,
                        int64_t count) {
  if (old.empty()) {  // Python inserts the replacement between every character
    std::string out;
    int64_t done = 0;
    const auto cps = decode_utf8(s);
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || done < count) {
        out += replacement;
        ++done;
      }
      if (i < cps.size()) append_utf8(out, cps[i]);
    }
    return out;
  }
  std::string out;
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    const size_t found = s.find(old, pos);
    if (found == std::string::npos) break;
    out.append(s, pos, found - pos);
    out += replacement;
    pos = found + old.size();
    ++done;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

// str.format with {}, {0}, {name}, {{ and }}; conversions !s and !r; no format specs.
std::string python_format(const std::string& fmt, const CallArgs& args, Interpreter& interp) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}')
        ++i;
      else
        interp.fail("Single '}' encountered in format string", interp.current_offset());
      out.push_back('}');
      continue;
    }
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out.push_back('{');
      ++i;
      continue;
    }
    const size_t close = fmt.find('}', i);
    if (close == std::string::npos)
      interp.fail("Single '{' encountered in format string", interp.current_offset());
    std::string field = fmt.substr(i + 1, close - i - 1);
    i = close;
    char conversion = 0;
    if (const size_t bang = field.find('!'); bang != std::string::npos) {
      conversion = bang + 1 < field.size() ? field[bang + 1] : 0;
      field = field.substr(0, bang);
    }
    if (field.find(':') != std::string::npos)
      interp.fail("format specs are not supported", interp.current_offset());
    const Value* v = nullptr;
    if (field.empty()) {
      v = args.get(auto_index++, "");
    } else if (std::all_of(field.begin(), field.end(), ::isdigit)) {
      v = args.get(static_cast<size_t>(std::stoul(field)), "");
    } else {
      v = args.get(SIZE_MAX, field);
    }
    if (!v) interp.fail("format field '" + field + "' has no argument", interp.current_offset());
    out += conversion == 'r' ? v->repr() : v->str();
  }
  return out;
}

Value string_method(const std::string& s, const std::string& name) {
  static const char* const kMethods[] = {
      "strip", "lstrip",     "rstrip",  "split",      "startswith", "endswith", "upper",
      "lower", "replace",    "title",   "capitalize", "format",     "join",     "find",
      "count", "splitlines", "isdigit", "isalpha",    "isspace",    "islower",  "isupper"};
  if (std::find_if(std::begin(kMethods), std::end(kMethods), [&](const char* m) { return name == m; }) ==
      std::end(kMethods)) {
    return Value::undefined("'str object' has no attribute '" + name + "'");
  }
  return Value::function(name, [s, name](const CallArgs& args, Interpreter& interp) -> Value {
    const Value none = Value::none();
    if (name == "strip") return Value(python_strip(s, arg(args, 0, "chars", none), true, true));
    if (name == "lstrip") return Value(python_strip(s, arg(args, 0, "chars", none), true, false));
    if (name == "rstrip") return Value(python_strip(s, arg(args, 0, "chars", none), false, true));
    if (name == "split") {
      const Value max = arg(args, 1, "maxsplit", Value(int64_t{-1}));
      const Value sep = arg(args, 0, "sep", none);
      if (sep.is_string() && sep.as_string().empty()) interp.fail("empty separator", interp.current_offset());
      return python_split(s, sep, max.as_int());
    }
    if (name == "startswith") return Value(matches_affix(s, arg(args, 0, "prefix", none), true, interp));
    if (name == "endswith") return Value(matches_affix(s, arg(args, 0, "suffix", none), false, interp));
    if (name == "upper") return Value(to_upper(s));
    if (name == "lower") return Value(to_lower(s));
    if (name == "title") return Value(title_case(s));
    if (name == "capitalize") return Value(python_capitalize(s));
    if (name == "replace") {
      const Value count = arg(args, 2, "count", Value(int64_t{-1}));
      return Value(replace_all(s, string_arg(args, 0, "old", interp, "replace"),
                               string_arg(args, 1, "new", interp, "replace"), count.as_int()));
    }
    if (name == "format") return Value(python_format(s, args, interp));
    if (name == "join") {
      std::string out;
      const std::vector<Value> items =
          iterate(arg(args, 0, "iterable", none), interp, interp.current_offset());
      for (size_t i = 0; i < items.size(); ++i) {
        if (!items[i].is_string())
          interp.fail("sequence item " + std::to_string(i) + ": expected str instance",
                      interp.current_offset());
        if (i) out += s;
        out += items[i].as_string();
      }
      return Value(std::move(out));
    }
    if (name == "find" || name == "count") {
      const std::string& needle = string_arg(args, 0, "sub", interp, name.c_str());
      if (name == "find") {
        const size_t at = s.find(needle);
        return Value(at == std::string::npos ? int64_t{-1}
                                             : static_cast<int64_t>(decode_utf8(s.substr(0, at)).size()));
      }
      if (needle.empty()) return Value(static_cast<int64_t>(decode_utf8(s).size() + 1));
      int64_t n = 0;
      for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + needle.size())) ++n;
      return Value(n);
    }
    if (name == "splitlines") {
      std::vector<Value> lines;
      for (std::string& line : python_splitlines(s)) lines.emplace_back(std::move(line));
      return Value::list(std::move(lines));
    }
    const auto cps = decode_utf8(s);
    if (cps.empty()) return Value(false);
    auto all = [&](auto pred) { return Value(std::all_of(cps.begin(), cps.end(), pred)); };
    if (name == "isdigit") return all([](char32_t c) { return c >= '0' && c <= '9'; });
    if (name == "isalpha") return all([](char32_t c) { return is_alnum(c) && !(c >= '0' && c <= '9'); });
    if (name == "isspace") return all(is_python_space);
    bool has_cased = false;
    for (char32_t c : cps) has_cased |= is_cased_letter(c);
    if (!has_cased) return Value(false);
    if (name == "islower") return Value(to_lower(s) == s);
    return Value(to_upper(s) == s);  // isupper
  });
}

}  // namespace

std::string python_capitalize(const std::string& s) {
  std::string out;
  bool first = true;
  for (char32_t cp : decode_utf8(s)) {
    append_utf8(out, first ? upper_cp(cp) : lower_cp(cp));
    first = false;
  }
  return out;
}

std::vector<std::string> python_splitlines(const std::string& s) {
  std::vector<std::string> lines;
  std::vector<char32_t> line;
  const auto cps = decode_utf8(s);
  for (size_t i = 0; i < cps.size(); ++i) {
    if (!is_line_break(cps[i])) {
      line.push_back(cps[i]);
      continue;
    }
    if (cps[i] == '\r' && i + 1 < cps.size() && cps[i + 1] == '\n') ++i;
    lines.push_back(encode_utf8(line));
    line.clear();
  }
  if (!line.empty()) lines.push_back(encode_utf8(line));
  return lines;
}

std::string python_strip(const std::string& s, const Value& chars, bool left, bool right) {
  const auto cps = decode_utf8(s);
  std::vector<char32_t> set;
  const bool whitespace = chars.is_none() || chars.is_undefined();
  if (!whitespace) set = decode_utf8(chars.str());
  auto strip = [&](char32_t cp) {
    return whitespace ? is_python_space(cp) : std::find(set.begin(), set.end(), cp) != set.end();
  };
  size_t begin = 0, end = cps.size();
  while (left && begin < end && strip(cps[begin])) ++begin;
  while (right && end > begin && strip(cps[end - 1])) --end;
  return encode_utf8(std::vector<char32_t>(cps.begin() + static_cast<std::ptrdiff_t>(begin),
                                           cps.begin() + static_cast<std::ptrdiff_t>(end)));
}

Value python_split(const std::string& s, const Value& separator, int64_t max_split) {
  std::vector<Value> parts;
  if (separator.is_none() || separator.is_undefined()) {
    const auto cps = decode_utf8(s);
    size_t i = 0;
    while (i < cps.size()) {
      while (i < cps.size() && is_python_space(cps[i])) ++i;
      if (i == cps.size()) break;
      if (max_split >= 0 && static_cast<int64_t>(parts.size()) == max_split) {
        size_t end = cps.size();
        while (end > i && is_python_space(cps[end - 1])) --end;
        parts.emplace_back(encode_utf8(std::vector<char32_t>(
            cps.begin() + static_cast<std::ptrdiff_t>(i), cps.begin() + static_cast<std::ptrdiff_t>(end))));
        break;
      }
      size_t j = i;
      while (j < cps.size() && !is_python_space(cps[j])) ++j;
      parts.emplace_back(encode_utf8(std::vector<char32_t>(cps.begin() + static_cast<std::ptrdiff_t>(i),
                                                           cps.begin() + static_cast<std::ptrdiff_t>(j))));
      i = j;
    }
    return Value::list(std::move(parts));
  }
  const std::string sep = separator.str();
  size_t pos = 0;
  while (max_split < 0 || static_cast<int64_t>(parts.size()) < max_split) {
    const size_t found = s.find(sep, pos);
    if (found == std::string::npos) break;
    parts.emplace_back(s.substr(pos, found - pos));
    pos = found + sep.size();
  }
  parts.emplace_back(s.substr(pos));
  return Value::list(std::move(parts));
}

Value bound_method(const Value& object, const std::string& name) {
  if (object.is_markup()) return markup_method(object, name);
  if (object.is_string()) return string_method(object.as_string(), name);
  if (object.is_dict()) {
    if (name != "items" && name != "keys" && name != "values" && name != "get") return Value::undefined();
    const Value dict = object;
    return Value::function(name, [dict, name](const CallArgs& args, Interpreter&) -> Value {
      std::vector<Value> out;
      if (name == "get") {
        const Value* key = args.get(0, "key");
        const Value* fallback = args.get(1, "default");
        const Value* found = key && key->hashable() ? dict.as_dict().find(*key) : nullptr;
        return found ? *found : fallback ? *fallback : Value::none();
      }
      for (const auto& [key, value] : dict.as_dict().items) {
        if (name == "items") out.push_back(Value::list({key, value}, /*is_tuple=*/true));
        if (name == "keys") out.push_back(key);
        if (name == "values") out.push_back(value);
      }
      return Value::list(std::move(out));
    });
  }
  if (object.is_list()) {
    if (name != "append" && name != "index" && name != "count") return Value::undefined();
    const Value list = object;
    return Value::function(name, [list, name](const CallArgs& args, Interpreter& interp) -> Value {
      const Value* x = args.get(0, "x");
      if (!x) interp.fail(name + "() takes exactly one argument", interp.current_offset());
      auto& items = list.as_list().items;
      if (name == "append") {  // transformers renders in Jinja2's immutable sandbox
        interp.fail("access to attribute 'append' of 'list' object is unsafe.", interp.current_offset());
      }
      int64_t count = 0;
      for (size_t i = 0; i < items.size(); ++i) {
        if (!items[i].equals(*x)) continue;
        if (name == "index") return Value(static_cast<int64_t>(i));
        ++count;
      }
      if (name == "index") interp.fail(x->repr() + " is not in list", interp.current_offset());
      return Value(count);
    });
  }
  return Value::undefined();
}

}  // namespace torchllm::jinja
