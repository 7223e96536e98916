// Python's json.dumps as transformers' tojson filter calls it (ensure_ascii=False).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "chat/jinja/builtins.h"
#include "chat/jinja/unicode.h"

namespace torchllm::jinja {
namespace {

void escape_code_point(char32_t cp, std::string& out) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(cp));
  out += buf;
}

void dump_string(const std::string& s, bool ensure_ascii, std::string& out) {
  out.push_back('"');
  for (char32_t cp : decode_utf8(s)) {
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (cp < 0x20 || (ensure_ascii && cp >= 0x80 && cp < 0x10000)) {
          escape_code_point(cp, out);
        } else if (ensure_ascii && cp >= 0x10000) {  // astral planes as a surrogate pair
          escape_code_point(0xd800 + ((cp - 0x10000) >> 10), out);
          escape_code_point(0xdc00 + ((cp - 0x10000) & 0x3ff), out);
        } else {
          append_utf8(out, cp);
        }
    }
  }
  out.push_back('"');
}

std::string json_float(double f) {
  return std::isnan(f) ? "NaN" : std::isinf(f) ? (f > 0 ? "Infinity" : "-Infinity") : python_float_repr(f);
}

struct Dumper {
  int indent;
  std::string item_sep, key_sep;
  bool sort_keys;
  bool ensure_ascii;
  Interpreter& interp;
  size_t offset;

  void newline(std::string& out, int level) const {
    if (indent < 0) return;
    out.push_back('\n');
    out.append(static_cast<size_t>(indent) * static_cast<size_t>(level), ' ');
  }

  // json.dumps turns str, int, float, bool and None keys into strings and refuses the rest.
  std::string key_text(const Value& key) const {
    switch (key.kind()) {
      case Value::Kind::kString:
        return key.as_string();
      case Value::Kind::kNone:
        return "null";
      case Value::Kind::kBool:
        return key.as_bool() ? "true" : "false";
      case Value::Kind::kInt:
        return std::to_string(key.as_int());
      case Value::Kind::kFloat:
        return json_float(key.as_double());
      default:
        interp.fail("keys must be str, int, float, bool or None, not " + python_type_name(key), offset);
    }
  }

  void dump(const Value& v, std::string& out, int level) {
    interp.step(offset);
    if (level > 512) interp.fail("tojson: value nests too deeply", offset);
    switch (v.kind()) {
      case Value::Kind::kNone:
        out += "null";
        return;
      case Value::Kind::kBool:
        out += v.as_bool() ? "true" : "false";
        return;
      case Value::Kind::kInt:
        out += std::to_string(v.as_int());
        return;
      case Value::Kind::kFloat:
        out += json_float(v.as_double());
        return;
      case Value::Kind::kString:
        dump_string(v.as_string(), ensure_ascii, out);
        return;
      case Value::Kind::kList: {
        if (v.is_generator()) interp.fail("Object of type generator is not JSON serializable", offset);
        const auto& items = v.as_list().items;
        if (items.empty()) {
          out += "[]";
          return;
        }
        out.push_back('[');
        for (size_t i = 0; i < items.size(); ++i) {
          if (i) out += item_sep;
          newline(out, level + 1);
          dump(items[i], out, level + 1);
        }
        newline(out, level);
        out.push_back(']');
        return;
      }
      case Value::Kind::kDict: {
        auto items = v.as_dict().items;
        if (items.empty()) {
          out += "{}";
          return;
        }
        if (sort_keys) {
          try {
            std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
              return python_compare(a.first, b.first) < 0;
            });
          } catch (const std::invalid_argument& e) {
            interp.fail(e.what(), offset);
          }
        }
        out.push_back('{');
        for (size_t i = 0; i < items.size(); ++i) {
          if (i) out += item_sep;
          newline(out, level + 1);
          dump_string(key_text(items[i].first), ensure_ascii, out);
          out += key_sep;
          dump(items[i].second, out, level + 1);
        }
        newline(out, level);
        out.push_back('}');
        return;
      }
      case Value::Kind::kUndefined:
        interp.fail("Object of type Undefined is not JSON serializable", offset);
      case Value::Kind::kNamespace:
        interp.fail("Object of type Namespace is not JSON serializable", offset);
      case Value::Kind::kCallable:
        interp.fail("Object of type function is not JSON serializable", offset);
    }
  }
};

}  // namespace

std::string json_dumps(const Value& v, int indent, const std::string& item_separator,
                       const std::string& key_separator, bool sort_keys, bool ensure_ascii,
                       Interpreter& interp, size_t offset) {
  std::string out;
  Dumper{indent, item_separator, key_separator, sort_keys, ensure_ascii, interp, offset}.dump(v, out, 0);
  return out;
}

}  // namespace torchllm::jinja
