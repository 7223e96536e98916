// Jinja2's string filters beyond the common ones: escaping (markupsafe), center, format, truncate, wordcount,
// filesizeformat, urlencode, xmlattr, random.
#include <cctype>
#include <cmath>
#include <cstdio>
#include <random>

#include "chat/jinja/builtins.h"
#include "chat/jinja/filter_call.h"
#include "chat/jinja/unicode.h"

namespace torchllm::jinja {
namespace {

// str.center(width), CPython's split of the padding included.
std::string python_center(const std::string& s, int64_t width) {
  const auto length = static_cast<int64_t>(decode_utf8(s).size());
  if (width <= length) return s;
  const int64_t margin = width - length;
  const int64_t left = margin / 2 + (margin & width & 1);
  return std::string(static_cast<size_t>(left), ' ') + s +
         std::string(static_cast<size_t>(margin - left), ' ');
}

Value truncate(FilterCall& f) {
  const Value& s = f.subject;
  if (!s.is_string()) f.fail("object of type '" + python_type_name(s) + "' has no len()");
  const int64_t length = f.arg(0, "length", Value(int64_t{255})).as_int();
  const bool killwords = f.arg(1, "killwords", Value(false)).truthy();
  const Value end = f.arg(2, "end", Value("..."));
  const Value leeway_v = f.arg(3, "leeway", Value::none());
  const int64_t leeway = leeway_v.is_none() ? 5 : leeway_v.as_int();  // Jinja's truncate.leeway policy
  const auto cps = decode_utf8(s.as_string());
  const auto end_length = static_cast<int64_t>(decode_utf8(end.str()).size());
  if (length < end_length)
    f.fail("expected length >= " + std::to_string(end_length) + ", got " + std::to_string(length));
  if (leeway < 0) f.fail("expected leeway >= 0, got " + std::to_string(leeway));
  if (static_cast<int64_t>(cps.size()) <= length + leeway) return s;
  const auto keep =
      static_cast<size_t>(std::min<int64_t>(length - end_length, static_cast<int64_t>(cps.size())));
  std::string head =
      encode_utf8(std::vector<char32_t>(cps.begin(), cps.begin() + static_cast<std::ptrdiff_t>(keep)));
  if (!killwords) {
    const size_t space = head.rfind(' ');
    if (space != std::string::npos) head.resize(space);  // s[:n].rsplit(" ", 1)[0]
  }
  if (s.is_markup()) return Value::markup(head + escape_value(end).as_string());
  if (!end.is_string()) f.fail("can only concatenate str (not \"" + python_type_name(end) + "\") to str");
  return end.is_markup() ? Value::markup(html_escape(head) + end.as_string()) : Value(head + end.as_string());
}

// len(re.findall(r"\w+", s)): runs of Python's word characters.
int64_t word_count(const std::string& s) {
  int64_t words = 0;
  bool in_word = false;
  for (char32_t cp : decode_utf8(s)) {
    const bool word = cp == '_' || is_alnum(cp);
    if (word && !in_word) ++words;
    in_word = word;
  }
  return words;
}

// Python's float(value), as filesizeformat takes it.
double python_float(FilterCall& f, const Value& v) {
  if (v.is_int() || v.is_bool() || v.is_float()) return v.as_double();
  double d = 0;
  if (v.is_string() && parse_python_float(v.as_string(), d)) return d;
  if (v.is_string()) f.fail("could not convert string to float: " + v.repr());
  f.fail("float() argument must be a string or a real number, not '" + python_type_name(v) + "'");
}

std::string filesizeformat(FilterCall& f) {
  const double bytes = python_float(f, f.subject);
  const bool binary = f.arg(0, "binary", Value(false)).truthy();
  const double base = binary ? 1024 : 1000;
  static const char* const kDecimal[] = {"kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  static const char* const kBinary[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
  if (bytes == 1) return "1 Byte";
  if (bytes < base) {
    if (!std::isfinite(bytes)) f.fail("cannot convert float " + python_float_repr(bytes) + " to integer");
    return std::to_string(static_cast<int64_t>(bytes)) + " Bytes";  // int() truncates toward zero
  }
  double unit = base;
  std::string prefix;
  for (int i = 0; i < 8; ++i) {
    unit = std::pow(base, i + 2);
    prefix = binary ? kBinary[i] : kDecimal[i];
    if (bytes < unit) break;
  }
  char text[64];
  std::snprintf(text, sizeof(text), "%.1f", base * bytes / unit);
  return std::string(text) + " " + prefix;
}

// urllib.parse.quote_from_bytes over the UTF-8 of Python's str(v): letters, digits and "_.-~" stay, and "/"
// unless for a query string, where spaces become "+".
std::string url_quote(const Value& v, bool for_query) {
  static const char* const kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v.str()) {
    if (std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == '~' || (c == '/' && !for_query)) {
      out += static_cast<char>(c);
    } else if (c == ' ' && for_query) {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string urlencode(FilterCall& f) {
  const Value& v = f.subject;
  if (v.is_string() || !(v.is_list() || v.is_dict())) return url_quote(v, false);
  std::string out;
  auto add = [&](const Value& key, const Value& value) {
    out += (out.empty() ? "" : "&") + url_quote(key, true) + "=" + url_quote(value, true);
  };
  if (v.is_dict()) {
    for (const auto& [key, value] : v.as_dict().items) add(key, value);
    return out;
  }
  for (const Value& item : v.as_list().items) {
    if (!item.is_list() || item.as_list().items.size() != 2) {
      f.fail(item.is_list() ? "too many values to unpack (expected 2)"
                            : "cannot unpack non-iterable " + python_type_name(item) + " object");
    }
    add(item.as_list().items[0], item.as_list().items[1]);
  }
  return out;
}

// Jinja2 3.1.2 (with Debian's fix) refuses keys holding ASCII whitespace, "/", ">" or "=".
Value xmlattr(FilterCall& f) {
  const Value& d = f.subject;
  if (!d.is_dict()) f.fail("'" + python_type_name(d) + "' object has no attribute 'items'");
  std::string out;
  for (const auto& [key, value] : d.as_dict().items) {
    if (value.is_none() || value.is_undefined()) continue;
    const std::string name = key.str();
    if (name.find_first_of(" \t\n\r\f\v/>=") != std::string::npos)
      f.fail("Invalid character in attribute name: " + key.repr());
    out += (out.empty() ? "" : " ") + escape_value(key).as_string() + "=\"" +
           escape_value(value).as_string() + "\"";
  }
  if (f.arg(0, "autospace", Value(true)).truthy() && !out.empty()) out = " " + out;
  return Value(out);
}

// random.choice: an item of a list or a character of a string; undefined for an empty sequence.
Value random_item(FilterCall& f) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  const Value& v = f.subject;
  if (v.is_string()) {
    const auto cps = decode_utf8(v.as_string());
    if (cps.empty()) return Value::undefined("No random item, sequence was empty.");
    return Value(encode_utf8({cps[random() % cps.size()]}));
  }
  if (!v.is_list()) f.fail("object of type '" + python_type_name(v) + "' has no len()");
  const std::vector<Value>& items = v.as_list().items;
  if (items.empty()) return Value::undefined("No random item, sequence was empty.");
  return items[random() % items.size()];
}

}  // namespace

bool text_filter(const std::string& name, FilterCall& f, Value& result) {
  const Value& subject = f.subject;
  if (name == "e" || name == "escape") {
    result = escape_value(subject);
  } else if (name == "forceescape") {
    result = Value::markup(html_escape(subject.str()));
  } else if (name == "center") {
    std::string centered = python_center(subject.str(), f.arg(0, "width", Value(int64_t{80})).as_int());
    result = subject.is_markup() ? Value::markup(std::move(centered)) : Value(std::move(centered));
  } else if (name == "format") {
    if (!f.args.positional.empty() && !f.args.keyword.empty())
      f.fail("can't handle positional and keyword arguments at the same time");
    Value args = Value::list(f.args.positional, /*is_tuple=*/true);
    if (!f.args.keyword.empty()) {
      auto mapping = std::make_shared<ValueDict>();
      for (const auto& [key, value] : f.args.keyword) mapping->set(Value(key), value);
      args = Value::dict(mapping);
    }
    const Value format = subject.is_markup() ? subject : Value(subject.str());
    result = percent_format(format, args, f.interp, f.offset);
  } else if (name == "truncate") {
    result = truncate(f);
  } else if (name == "wordcount") {
    result = Value(word_count(subject.str()));
  } else if (name == "filesizeformat") {
    result = Value(filesizeformat(f));
  } else if (name == "urlencode") {
    result = Value(urlencode(f));
  } else if (name == "xmlattr") {
    result = xmlattr(f);
  } else if (name == "random") {
    result = random_item(f);
  } else {
    return false;
  }
  return true;
}

}  // namespace torchllm::jinja
