// The structured-output side of a chat request (tools, tool_choice, parallel_tool_calls, response_format
// and the llama-server grammar extension), checked and compiled into a CompletionCall.
#include "server/structured_request.h"

#include <cctype>
#include <memory>
#include <string>

#include "server/api_error.h"
#include "server/grammar_cache.h"
#include "torchllm/error.h"
#include "torchllm/grammar.h"

namespace torchllm::server {
namespace {

using ordered_json = nlohmann::ordered_json;

// OpenAI's rule for function names.
bool valid_function_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

ordered_json parse_tools(const ordered_json& value) {
  if (!value.is_array()) throw ApiError::bad_request("'tools' must be an array", "tools", "invalid_type");
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string param = "tools[" + std::to_string(i) + "]";
    const ordered_json& tool = value[i];
    if (!tool.is_object())
      throw ApiError::bad_request("'" + param + "' must be an object", param, "invalid_type");
    if (!tool.contains("type") || tool["type"] != "function") {
      throw ApiError::bad_request("'" + param + ".type' must be 'function' (the only tool type served)",
                                  param + ".type", "invalid_value");
    }
    if (!tool.contains("function") || !tool["function"].is_object())
      throw ApiError::bad_request("'" + param + ".function' is required", param + ".function");
    const ordered_json& function = tool["function"];
    if (!function.contains("name") || !function["name"].is_string() ||
        !valid_function_name(function["name"].get<std::string>())) {
      throw ApiError::bad_request("'" + param + ".function.name' must be 1 to 64 of a-z, A-Z, 0-9, _ and -",
                                  param + ".function.name", "invalid_value");
    }
    if (function.contains("parameters") && !function["parameters"].is_null() &&
        !function["parameters"].is_object())
      throw ApiError::bad_request("'" + param + ".function.parameters' must be a JSON schema object",
                                  param + ".function.parameters", "invalid_type");
    for (auto it = function.begin(); it != function.end(); ++it) {
      if (it.key() != "name" && it.key() != "description" && it.key() != "parameters" &&
          it.key() != "strict") {
        throw ApiError::bad_request("Unrecognized function field: " + it.key(),
                                    param + ".function." + it.key(), "unsupported_parameter");
      }
    }
  }
  return value;
}

void parse_tool_choice(const ordered_json& value, CompletionCall& call) {
  using Choice = CompletionCall::ToolChoice;
  if (value.is_string()) {
    const std::string choice = value.get<std::string>();
    if (choice == "none") {
      call.tool_choice = Choice::kNone;
    } else if (choice == "auto") {
      call.tool_choice = Choice::kAuto;
    } else if (choice == "required") {
      call.tool_choice = Choice::kRequired;
    } else {
      throw ApiError::bad_request(
          "'tool_choice' must be none, auto, required or {\"type\": \"function\", ...}", "tool_choice",
          "invalid_value");
    }
    return;
  }
  if (!value.is_object() || value.value("type", "") != "function" || !value.contains("function") ||
      !value["function"].is_object() || !value["function"].contains("name") ||
      !value["function"]["name"].is_string()) {
    throw ApiError::bad_request(
        "'tool_choice' must be none, auto, required or {\"type\": \"function\", "
        "\"function\": {\"name\": ...}}",
        "tool_choice", "invalid_value");
  }
  call.tool_choice = Choice::kNamed;
  call.tool_choice_name = value["function"]["name"].get<std::string>();
}

std::shared_ptr<const Grammar> compile_output_grammar(const std::string& gbnf, const std::string& param) {
  try {
    return cached_grammar(gbnf);
  } catch (const Error& e) {
    throw ApiError::bad_request(e.what(), param, "invalid_value");
  }
}

std::shared_ptr<const Grammar> response_format_grammar(const ordered_json& value) {
  if (!value.is_object() || !value.contains("type") || !value["type"].is_string())
    throw ApiError::bad_request("'response_format' must be an object with a 'type'", "response_format",
                                "invalid_type");
  const std::string type = value["type"].get<std::string>();
  if (type == "text") return nullptr;
  if (type == "json_object") return compile_output_grammar(json_object_gbnf(), "response_format");
  if (type != "json_schema") {
    throw ApiError::bad_request(
        "'response_format.type' must be text, json_object or json_schema, got '" + type + "'",
        "response_format.type", "invalid_value");
  }
  if (!value.contains("json_schema") || !value["json_schema"].is_object())
    throw ApiError::bad_request("'response_format.json_schema' is required", "response_format.json_schema");
  const ordered_json& spec = value["json_schema"];
  if (!spec.contains("name") || !spec["name"].is_string())
    throw ApiError::bad_request("'response_format.json_schema.name' is required",
                                "response_format.json_schema.name");
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    if (it.key() != "name" && it.key() != "schema" && it.key() != "strict" && it.key() != "description") {
      throw ApiError::bad_request("Unrecognized json_schema field: " + it.key(),
                                  "response_format.json_schema." + it.key(), "unsupported_parameter");
    }
  }
  const ordered_json schema = spec.contains("schema") ? spec["schema"] : ordered_json{{"type", "object"}};
  std::string gbnf;
  try {
    gbnf = json_schema_to_gbnf(schema);
  } catch (const Error& e) {
    throw ApiError::bad_request(e.what(), "response_format.json_schema.schema", "invalid_value");
  }
  return compile_output_grammar(gbnf, "response_format.json_schema.schema");
}

}  // namespace

void parse_structured_fields(const ordered_json& body, CompletionCall& call) {
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& key = it.key();
    const ordered_json& value = it.value();
    if (value.is_null()) continue;
    if (key == "tools") {
      call.tools = parse_tools(value);
      if (call.tools.empty()) call.tools = nullptr;
    } else if (key == "tool_choice") {
      parse_tool_choice(value, call);
    } else if (key == "parallel_tool_calls") {
      if (!value.is_boolean())
        throw ApiError::bad_request("'parallel_tool_calls' must be a boolean", key, "invalid_type");
      call.parallel_tool_calls = value.get<bool>();
    } else if (key == "response_format") {
      call.grammar = response_format_grammar(value);
    } else if (key == "grammar") {  // extension (llama-server): GBNF
      if (!value.is_string())
        throw ApiError::bad_request("'grammar' must be a string of GBNF", key, "invalid_type");
      if (call.grammar) throw ApiError::bad_request("give 'grammar' or 'response_format', not both", key);
      call.grammar = compile_output_grammar(value.get<std::string>(), key);
      call.grammar_covers_thought = true;
    }
  }
  if (call.tool_choice == CompletionCall::ToolChoice::kNamed) {
    bool found = false;
    for (const ordered_json& tool : call.tools.is_array() ? call.tools : ordered_json::array())
      found |= tool["function"]["name"] == call.tool_choice_name;
    if (!found) {
      throw ApiError::bad_request(
          "'tool_choice' names the function '" + call.tool_choice_name + "', which is not in 'tools'",
          "tool_choice", "invalid_value");
    }
  }
  if (call.tool_choice == CompletionCall::ToolChoice::kRequired && call.tools.is_null())
    throw ApiError::bad_request("'tool_choice' is required but there are no 'tools'", "tool_choice",
                                "invalid_value");
  const bool forced = call.tool_choice == CompletionCall::ToolChoice::kRequired ||
                      call.tool_choice == CompletionCall::ToolChoice::kNamed;
  if (forced && call.grammar) {
    throw ApiError::bad_request(
        "a required or named 'tool_choice' constrains the output already; leave out "
        "'response_format' (or 'grammar')",
        "response_format");
  }
}

bool is_structured_field(const std::string& key) {
  return key == "tools" || key == "tool_choice" || key == "parallel_tool_calls" || key == "response_format" ||
         key == "grammar";
}

}  // namespace torchllm::server
