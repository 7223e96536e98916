// JSON Schema to GBNF: each schema becomes a rule (or an inline expression) built from a few primitives
// (string, number, integer, boolean, null, any value); objects list their properties in the schema's order.
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "sampling/grammar/regex_gbnf.h"
#include "torchllm/error.h"
#include "torchllm/grammar.h"

namespace torchllm {
namespace {

using json = nlohmann::ordered_json;
using grammar::gbnf_literal;

// Whitespace between tokens, bounded so that a model cannot pad forever (as llama.cpp's converter does).
const char* const kPrimitives[][2] = {
    {"space", "| \" \" | \"\\n\" [ \\t]{0,20}"},
    {"char", "[^\"\\\\\\x7F\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4})"},
    {"string", "\"\\\"\" char* \"\\\"\" space"},
    {"integral-part", "[0] | [1-9] [0-9]{0,15}"},
    {"decimal-part", "[0-9]{1,16}"},
    {"number", "\"-\"? integral-part (\".\" decimal-part)? ([eE] [-+]? integral-part)? space"},
    {"integer", "\"-\"? integral-part space"},
    {"boolean", "(\"true\" | \"false\") space"},
    {"null", "\"null\" space"},
    {"value", "object | array | string | number | boolean | null"},
    {"object", "\"{\" space (string \":\" space value (\",\" space string \":\" space value)*)? \"}\" space"},
    {"array", "\"[\" space (value (\",\" space value)*)? \"]\" space"},
    {"date", "[0-9]{4} \"-\" (\"0\" [1-9] | \"1\" [0-2]) \"-\" (\"0\" [1-9] | [1-2] [0-9] | \"3\" [0-1])"},
    {"time",
     "([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9] \":\" [0-5] [0-9] (\".\" [0-9]{1,6})? (\"Z\" | [+-] "
     "([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9])"},
    {"uuid",
     "[0-9a-fA-F]{8} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{12}"},
};

// What each primitive uses, so that only what the schema needs is written out.
const std::map<std::string, std::vector<std::string>>& primitive_deps() {
  static const std::map<std::string, std::vector<std::string>> deps = {
      {"string", {"char", "space"}},
      {"number", {"integral-part", "decimal-part", "space"}},
      {"integer", {"integral-part", "space"}},
      {"boolean", {"space"}},
      {"null", {"space"}},
      {"value", {"object", "array", "string", "number", "boolean", "null"}},
      {"object", {"space", "string", "value"}},
      {"array", {"space", "value"}},
  };
  return deps;
}

const std::set<std::string>& annotations() {
  static const std::set<std::string> keys = {"title", "description", "default",    "examples", "$schema",
                                             "$id",   "$comment",    "deprecated", "readOnly", "writeOnly",
                                             "$defs", "definitions", "strict",     "name",     "$anchor"};
  return keys;
}

class Converter {
 public:
  // Adds the rules of `schema` under the rule `name` ($refs resolve within this schema).
  void add_schema(const json& schema, const std::string& name) {
    root_ = &schema;
    refs_.clear();
    taken_.insert(name);
    const std::string body = visit(schema, name, "#");
    if (body != name) rules_.emplace_back(name, body);
  }

  std::string text() const {
    std::string out;
    for (const auto& [name, body] : rules_) out += name + " ::= " + body + "\n";
    for (const std::string& name : used_primitives_) {
      for (const auto& p : kPrimitives) {
        if (name == p[0]) out += name + " ::= " + p[1] + "\n";
      }
    }
    return out;
  }

 private:
  [[noreturn]] static void unsupported(const std::string& path, const std::string& what) {
    throw Error::unsupported("JSON schema at " + path + ": " + what +
                             " is not supported in structured outputs");
  }
  [[noreturn]] static void invalid(const std::string& path, const std::string& what) {
    throw Error::invalid_argument("JSON schema at " + path + ": " + what);
  }

  void use(const std::string& primitive) {
    if (!used_primitives_.insert(primitive).second) return;
    auto it = primitive_deps().find(primitive);
    if (it != primitive_deps().end()) {
      for (const std::string& dep : it->second) use(dep);
    }
  }

  std::string primitive(const std::string& name) {
    use(name);
    return name;
  }

  static std::string sanitize(const std::string& hint) {
    std::string out;
    for (char c : hint) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      out += ok ? c : '-';
    }
    return out.empty() ? "r" : out;
  }

  std::string unique_name(const std::string& hint) {
    std::string base = sanitize(hint), name = base;
    for (int i = 2; taken_.count(name) || is_primitive(name); ++i) name = base + "-" + std::to_string(i);
    taken_.insert(name);
    return name;
  }

  static bool is_primitive(const std::string& name) {
    for (const auto& p : kPrimitives) {
      if (name == p[0]) return true;
    }
    return false;
  }

  std::string add_rule(const std::string& hint, const std::string& body) {
    const std::string name = unique_name(hint);
    rules_.emplace_back(name, body);
    return name;
  }

  static std::string literal_value(const json& value) { return gbnf_literal(value.dump()) + " space"; }

  std::string ref(const std::string& target, const std::string& path) {
    auto it = refs_.find(target);
    if (it != refs_.end()) return it->second;
    const json& root = *root_;
    const json* node = &root;
    if (target != "#") {
      std::string prefix;
      for (const char* p : {"#/$defs/", "#/definitions/"}) {
        if (target.rfind(p, 0) == 0) prefix = p;
      }
      if (prefix.empty())
        unsupported(path, "$ref '" + target + "' (only #, #/$defs/NAME and #/definitions/NAME are)");
      const std::string key = prefix == "#/$defs/" ? "$defs" : "definitions";
      const std::string name = target.substr(prefix.size());
      if (!root.contains(key) || !root[key].is_object() || !root[key].contains(name))
        invalid(path, "$ref '" + target + "' points at nothing");
      node = &root[key][name];
    }
    // Named before it is visited, so that a recursive reference finds the name.
    const std::string name = unique_name("ref-" + target.substr(target.rfind('/') + 1));
    refs_[target] = name;
    const size_t index = rules_.size();
    rules_.emplace_back(name, "");
    const std::string body = visit(*node, name + "-body", target);
    rules_[index].second = body;
    return name;
  }

  std::string alternatives(const json& list, const std::string& hint, const std::string& path,
                           const char* keyword) {
    if (!list.is_array() || list.empty()) invalid(path, std::string(keyword) + " must be a non-empty array");
    std::string body;
    for (size_t i = 0; i < list.size(); ++i) {
      if (i) body += " | ";
      body += visit(list[i], hint + "-" + std::to_string(i), path + "/" + keyword + "/" + std::to_string(i));
    }
    return add_rule(hint, body);
  }

  std::string visit(const json& schema, const std::string& hint, const std::string& path) {
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) unsupported(path, "the schema false (nothing is valid)");
      return primitive("value");
    }
    if (!schema.is_object()) invalid(path, "a schema must be an object or a boolean");
    for (auto it = schema.begin(); it != schema.end(); ++it)
      check_keyword(it.key(), it.value(), schema, path);
    if (schema.contains("$ref")) {
      if (schema.size() > 1) {
        for (auto it = schema.begin(); it != schema.end(); ++it) {
          if (it.key() != "$ref" && !annotations().count(it.key()))
            unsupported(path, "$ref next to '" + it.key() + "'");
        }
      }
      if (!schema["$ref"].is_string()) invalid(path, "$ref must be a string");
      return ref(schema["$ref"].get<std::string>(), path);
    }
    if (schema.contains("const")) return add_rule(hint, literal_value(schema["const"]));
    if (schema.contains("enum")) {
      const json& values = schema["enum"];
      if (!values.is_array() || values.empty()) invalid(path, "enum must be a non-empty array");
      std::string body;
      for (size_t i = 0; i < values.size(); ++i) body += (i ? " | " : "") + literal_value(values[i]);
      return add_rule(hint, body);
    }
    if (schema.contains("anyOf")) return alternatives(schema["anyOf"], hint, path, "anyOf");
    if (schema.contains("oneOf")) return alternatives(schema["oneOf"], hint, path, "oneOf");
    if (schema.contains("allOf")) {
      const json& all = schema["allOf"];
      if (!all.is_array() || all.size() != 1) unsupported(path, "allOf with more than one schema");
      return visit(all[0], hint, path + "/allOf/0");
    }
    if (schema.contains("type")) {
      const json& type = schema["type"];
      if (type.is_array()) {
        if (type.empty()) invalid(path, "type must not be an empty list");
        std::string body;
        for (size_t i = 0; i < type.size(); ++i) {
          if (!type[i].is_string()) invalid(path, "type must hold strings");
          body += (i ? " | " : "") +
                  typed(schema, type[i].get<std::string>(), hint + "-" + std::to_string(i), path);
        }
        return add_rule(hint, body);
      }
      if (!type.is_string()) invalid(path, "type must be a string or a list of strings");
      return typed(schema, type.get<std::string>(), hint, path);
    }
    if (schema.contains("properties") || schema.contains("additionalProperties") ||
        schema.contains("required"))
      return typed(schema, "object", hint, path);
    if (schema.contains("items") || schema.contains("prefixItems") || schema.contains("minItems") ||
        schema.contains("maxItems"))
      return typed(schema, "array", hint, path);
    if (schema.contains("pattern") || schema.contains("format") || schema.contains("minLength") ||
        schema.contains("maxLength"))
      return typed(schema, "string", hint, path);
    return primitive("value");
  }

  void check_keyword(const std::string& key, const json& value, const json& schema, const std::string& path) {
    static const std::set<std::string> handled = {
        "$ref",      "const",       "enum",       "anyOf",    "oneOf",
        "allOf",     "type",        "properties", "required", "additionalProperties",
        "items",     "prefixItems", "minItems",   "maxItems", "minLength",
        "maxLength", "pattern",     "format"};
    if (handled.count(key) || annotations().count(key)) return;
    if (key == "uniqueItems" && value == false) return;
    if (key == "nullable" && value == false) return;
    (void)schema;
    unsupported(path, "'" + key + "'");
  }

  static int64_t count(const json& schema, const char* key, const std::string& path) {
    const json& v = schema[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0)
      invalid(path, std::string(key) + " must be a non-negative integer");
    return v.get<int64_t>();
  }

  std::string typed(const json& schema, const std::string& type, const std::string& hint,
                    const std::string& path) {
    if (type == "string") return string_rule(schema, hint, path);
    if (type == "number") return primitive("number");
    if (type == "integer") return primitive("integer");
    if (type == "boolean") return primitive("boolean");
    if (type == "null") return primitive("null");
    if (type == "object") return object_rule(schema, hint, path);
    if (type == "array") return array_rule(schema, hint, path);
    invalid(path, "unknown type '" + type + "'");
  }

  std::string string_rule(const json& schema, const std::string& hint, const std::string& path) {
    const bool has_pattern = schema.contains("pattern"), has_format = schema.contains("format");
    const bool has_length = schema.contains("minLength") || schema.contains("maxLength");
    if (!has_pattern && !has_format && !has_length) return primitive("string");
    if (has_pattern + has_format + has_length > 1)
      unsupported(path, "pattern, format and minLength/maxLength together");
    use("space");
    if (has_pattern) {
      if (!schema["pattern"].is_string()) invalid(path, "pattern must be a string");
      use("char");
      return add_rule(hint, "\"\\\"\" " +
                                grammar::regex_to_gbnf(schema["pattern"].get<std::string>(), "char") +
                                " \"\\\"\" space");
    }
    if (has_format) {
      const std::string format = schema["format"].is_string() ? schema["format"].get<std::string>() : "";
      std::string body;
      if (format == "date" || format == "time" || format == "uuid") {
        body = primitive(format);
      } else if (format == "date-time") {
        body = primitive("date") + " \"T\" " + primitive("time");
      } else {
        unsupported(path, "format '" + format + "' (date, time, date-time and uuid are)");
      }
      return add_rule(hint, "\"\\\"\" " + body + " \"\\\"\" space");
    }
    use("char");
    const int64_t min = schema.contains("minLength") ? count(schema, "minLength", path) : 0;
    const std::string max =
        schema.contains("maxLength") ? std::to_string(count(schema, "maxLength", path)) : "";
    if (!max.empty() && std::stoll(max) < min) invalid(path, "maxLength is below minLength");
    return add_rule(hint, "\"\\\"\" char{" + std::to_string(min) + "," + max + "} \"\\\"\" space");
  }

  std::string object_rule(const json& schema, const std::string& hint, const std::string& path) {
    use("space");
    const json properties = schema.contains("properties") ? schema["properties"] : json::object();
    if (!properties.is_object()) invalid(path, "properties must be an object");
    std::set<std::string> required;
    if (schema.contains("required")) {
      if (!schema["required"].is_array()) invalid(path, "required must be an array");
      for (const json& name : schema["required"]) {
        if (!name.is_string()) invalid(path, "required must hold strings");
        if (!properties.contains(name.get<std::string>()))
          unsupported(path,
                      "required property '" + name.get<std::string>() + "' that properties does not define");
        required.insert(name.get<std::string>());
      }
    }
    // Extra properties: absent means none when properties are listed (strict structured outputs), any
    // otherwise; true or a schema allows them after the listed ones.
    std::string extra;
    const json additional =
        schema.contains("additionalProperties") ? schema["additionalProperties"] : json(properties.empty());
    if (!(additional.is_boolean() && !additional.get<bool>())) {
      const std::string value = additional.is_boolean()
                                    ? primitive("value")
                                    : visit(additional, hint + "-additional", path + "/additionalProperties");
      extra = add_rule(hint + "-extra", primitive("string") + " \":\" space " + value);
    }
    std::vector<std::string> kvs;
    std::vector<bool> needed;
    for (auto it = properties.begin(); it != properties.end(); ++it) {
      const std::string value = visit(it.value(), hint + "-" + it.key(), path + "/properties/" + it.key());
      kvs.push_back(
          add_rule(hint + "-" + it.key() + "-kv", literal_value(it.key()) + " \":\" space " + value));
      needed.push_back(required.count(it.key()) > 0);
    }
    // after(i): properties i.. once one was written (each after a comma); first(i): the same with none yet.
    const size_t n = kvs.size();
    std::string after = extra.empty() ? "" : "(\",\" space " + extra + ")*";
    std::string first = extra.empty() ? "" : "(" + extra + " (\",\" space " + extra + ")*)?";
    for (size_t k = n; k-- > 0;) {
      const std::string comma_kv = "\",\" space " + kvs[k];
      const std::string rest_after = after;
      std::string new_after = needed[k] ? comma_kv + " " + rest_after : "(" + comma_kv + ")? " + rest_after;
      std::string new_first =
          needed[k] ? kvs[k] + " " + rest_after
                    : "(" + kvs[k] + " " + rest_after + " | " + (first.empty() ? "\"\"" : first) + ")";
      after = k == 0 ? new_after
                     : add_rule(hint + "-after-" + std::to_string(k), new_after.empty() ? "\"\"" : new_after);
      first = new_first;
    }
    return add_rule(hint, "\"{\" space " + (first.empty() ? "" : first + " ") + "\"}\" space");
  }

  std::string array_rule(const json& schema, const std::string& hint, const std::string& path) {
    use("space");
    const int64_t min = schema.contains("minItems") ? count(schema, "minItems", path) : 0;
    const int64_t max = schema.contains("maxItems") ? count(schema, "maxItems", path) : -1;
    if (max >= 0 && max < min) invalid(path, "maxItems is below minItems");
    std::vector<std::string> prefix;
    if (schema.contains("prefixItems")) {
      const json& items = schema["prefixItems"];
      if (!items.is_array()) invalid(path, "prefixItems must be an array");
      if (min != 0 || max >= 0) unsupported(path, "prefixItems with minItems or maxItems");
      for (size_t i = 0; i < items.size(); ++i)
        prefix.push_back(
            visit(items[i], hint + "-" + std::to_string(i), path + "/prefixItems/" + std::to_string(i)));
    }
    std::string item;
    bool more = true;
    if (schema.contains("items")) {
      const json& items = schema["items"];
      if (items.is_boolean() && !items.get<bool>()) {
        more = false;
      } else {
        item = visit(items, hint + "-item", path + "/items");
      }
    } else {
      item = primitive("value");
    }
    std::string body = "\"[\" space ";
    if (!prefix.empty()) {
      for (size_t i = 0; i < prefix.size(); ++i) body += (i ? "\",\" space " : "") + prefix[i] + " ";
      if (more) body += "(\",\" space " + item + ")* ";
    } else if (more) {
      if (min == 0) {
        body +=
            "(" + item + " (\",\" space " + item + "){0," + (max < 0 ? "" : std::to_string(max - 1)) + "})? ";
        if (max == 0) body = "\"[\" space ";
      } else {
        body += item + " (\",\" space " + item + "){" + std::to_string(min - 1) + "," +
                (max < 0 ? "" : std::to_string(max - 1)) + "} ";
      }
    } else if (min > 0) {
      invalid(path, "minItems above 0 with items false");
    }
    return add_rule(hint, body + "\"]\" space");
  }

  const json* root_ = nullptr;
  std::vector<std::pair<std::string, std::string>> rules_;
  std::set<std::string> taken_;
  std::set<std::string> used_primitives_;
  std::map<std::string, std::string> refs_;
};

}  // namespace

std::string json_schema_to_gbnf(const json& schema) {
  Converter converter;
  converter.add_schema(schema, "root");
  return converter.text();
}

std::string json_schemas_to_gbnf(const std::vector<std::pair<std::string, json>>& schemas) {
  Converter converter;
  for (const auto& [name, schema] : schemas) converter.add_schema(schema, name);
  return converter.text();
}

std::string json_object_gbnf() { return json_schema_to_gbnf(json{{"type", "object"}}); }

}  // namespace torchllm
