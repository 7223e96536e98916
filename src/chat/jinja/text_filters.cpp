// Jinja2's string filters beyond the common ones: escaping (markupsafe), center, format, truncate, wordcount.
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
  } else {
    return false;
  }
  return true;
}

}  // namespace torchllm::jinja
