// Python's printf-style string formatting (`"%s: %d" % (a, b)`, Jinja's `format` filter), with markupsafe's
// rule for Markup formats: every argument is escaped before it is inserted.
#include <cmath>
#include <cstdio>

#include "chat/jinja/builtins.h"
#include "chat/jinja/unicode.h"

namespace torchllm::jinja {
namespace {

struct Spec {
  std::string flags;
  int width = -1;
  int precision = -1;
  char conversion = 0;
};

class PercentFormatter {
 public:
  PercentFormatter(const Value& format, const Value& args, Interpreter& interp, size_t offset)
      : format_(format.as_string()), markup_(format.is_markup()), interp_(interp), offset_(offset) {
    if (args.is_list() && args.as_list().is_tuple) {
      positional_ = args.as_list().items;
    } else {
      positional_ = {args};
      if (args.is_dict()) mapping_ = &args;
    }
  }

  std::string run() {
    std::string out;
    for (size_t i = 0; i < format_.size(); ++i) {
      if (format_[i] != '%') {
        out.push_back(format_[i]);
        continue;
      }
      if (++i >= format_.size()) fail("incomplete format");
      const Value* keyed = nullptr;
      if (format_[i] == '(') {
        const size_t close = format_.find(')', i);
        if (close == std::string::npos) fail("incomplete format key");
        if (!mapping_) fail("format requires a mapping");
        keyed = mapping_->as_dict().find(Value(format_.substr(i + 1, close - i - 1)));
        if (!keyed) fail(python_string_repr(format_.substr(i + 1, close - i - 1)));  // Python's KeyError
        used_mapping_ = true;
        i = close + 1;
      }
      Spec spec;
      while (i < format_.size() && std::string("-+ #0").find(format_[i]) != std::string::npos)
        spec.flags.push_back(format_[i++]);
      spec.width = number(i);
      if (i < format_.size() && format_[i] == '.') {
        ++i;
        spec.precision = std::max(0, number(i));
      }
      while (i < format_.size() && (format_[i] == 'h' || format_[i] == 'l' || format_[i] == 'L')) ++i;
      if (i >= format_.size()) fail("incomplete format");
      spec.conversion = format_[i];
      if (spec.conversion == '%') {
        out.push_back('%');
        continue;
      }
      out += convert(keyed ? *keyed : next_arg(), spec);
    }
    if (!used_mapping_ && !mapping_ && next_ < positional_.size())
      fail("not all arguments converted during string formatting");
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& message) const { interp_.fail(message, offset_); }

  const Value& next_arg() {
    if (next_ >= positional_.size()) fail("not enough arguments for format string");
    return positional_[next_++];
  }

  // A width or precision: digits, or '*' taken from the arguments; -1 when absent.
  int number(size_t& i) {
    if (i < format_.size() && format_[i] == '*') {
      ++i;
      const Value& v = next_arg();
      if (!v.is_int() && !v.is_bool()) fail("* wants int");
      return static_cast<int>(v.as_int());
    }
    if (i >= format_.size() || !std::isdigit(static_cast<unsigned char>(format_[i]))) return -1;
    int n = 0;
    while (i < format_.size() && std::isdigit(static_cast<unsigned char>(format_[i])))
      n = std::min(n * 10 + (format_[i++] - '0'), 100000);
    return n;
  }

  std::string text_of(const Value& v, bool repr) const {
    const std::string text = repr ? v.repr() : v.str();
    return markup_ && !v.is_markup() ? html_escape(text) : text;
  }

  std::string pad(std::string text, const Spec& spec, bool numeric) const {
    const auto length = static_cast<int>(decode_utf8(text).size());
    if (spec.width <= length) return text;
    const size_t fill = static_cast<size_t>(spec.width - length);
    if (spec.flags.find('-') != std::string::npos) return text + std::string(fill, ' ');
    if (numeric && spec.flags.find('0') != std::string::npos) {
      const size_t sign = !text.empty() && (text[0] == '-' || text[0] == '+' || text[0] == ' ') ? 1 : 0;
      return text.substr(0, sign) + std::string(fill, '0') + text.substr(sign);
    }
    return std::string(fill, ' ') + text;
  }

  std::string convert(const Value& v, const Spec& spec) {
    const char c = spec.conversion;
    if (c == 's' || c == 'r' || c == 'a') {
      std::string text = text_of(v, c != 's');
      if (spec.precision >= 0) {
        auto cps = decode_utf8(text);
        if (cps.size() > static_cast<size_t>(spec.precision)) cps.resize(static_cast<size_t>(spec.precision));
        text = encode_utf8(cps);
      }
      return pad(std::move(text), spec, false);
    }
    std::string flags;
    for (char f : spec.flags)
      if (f == '+' || f == ' ' || (f == '#' && c != 'o')) flags.push_back(f);
    char buf[512];
    const std::string conversion_name = std::string("%") + c;
    if (c == 'd' || c == 'i' || c == 'u' || c == 'x' || c == 'X' || c == 'o') {
      if (!v.is_number())
        fail(conversion_name +
             " format: " + (c == 'd' || c == 'i' || c == 'u' ? "a real number" : "an integer") +
             " is required, not " + python_type_name(v));
      if (v.is_float() && c != 'd' && c != 'i' && c != 'u')
        fail(conversion_name + " format: an integer is required, not float");
      if (v.is_float() && !std::isfinite(v.as_double())) fail("cannot convert float infinity to integer");
      const long long n = v.is_float() ? static_cast<long long>(v.as_double()) : v.as_int();
      const std::string f =
          "%" + flags + (c == 'x' || c == 'X' || c == 'o' ? "ll" + std::string(1, c) : "lld");
      if (c == 'x' || c == 'X' || c == 'o') {  // Python prints negative numbers with a sign
        std::snprintf(buf, sizeof(buf), f.c_str(), static_cast<unsigned long long>(n < 0 ? -n : n));
        std::string text = buf;
        if (n < 0) text = "-" + text;
        return pad(text, spec, true);
      }
      std::snprintf(buf, sizeof(buf), f.c_str(), n);
      return pad(buf, spec, true);
    }
    if (c == 'f' || c == 'F' || c == 'e' || c == 'E' || c == 'g' || c == 'G') {
      if (!v.is_number()) fail("must be real number, not " + python_type_name(v));
      const int precision = spec.precision < 0 ? 6 : std::min(spec.precision, 300);
      const std::string f = "%" + flags + "." + std::to_string(precision) + c;
      std::snprintf(buf, sizeof(buf), f.c_str(), v.as_double());
      return pad(buf, spec, true);
    }
    if (c == 'c') {
      std::string text;
      if (v.is_string() && decode_utf8(v.as_string()).size() == 1)
        text = v.as_string();
      else if (v.is_int() && v.as_int() >= 0 && v.as_int() <= 0x10ffff)
        append_utf8(text, static_cast<char32_t>(v.as_int()));
      else
        fail("%c requires int or char");
      return pad(markup_ ? html_escape(text) : text, spec, false);
    }
    fail(std::string("unsupported format character '") + c + "'");
  }

  std::string format_;
  bool markup_;
  Interpreter& interp_;
  size_t offset_;
  std::vector<Value> positional_;
  const Value* mapping_ = nullptr;
  bool used_mapping_ = false;
  size_t next_ = 0;
};

}  // namespace

Value percent_format(const Value& format, const Value& args, Interpreter& interp, size_t offset) {
  std::string out = PercentFormatter(format, args, interp, offset).run();
  return format.is_markup() ? Value::markup(std::move(out)) : Value(std::move(out));
}

}  // namespace torchllm::jinja
