#include "server/tool_calls.h"

#include <algorithm>
#include <random>

#include "torchllm/grammar.h"

namespace torchllm::server {
namespace {

using ordered_json = nlohmann::ordered_json;

constexpr const char* kHermesOpen = "<tool_call>";
constexpr const char* kHermesClose = "</tool_call>";
constexpr const char* kPythonTag = "<|python_tag|>";
constexpr const char* kMistralOpen = "[TOOL_CALLS]";
constexpr const char* kMistralArgs = "[ARGS]";

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

size_t skip_space(const std::string& s, size_t i) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

// The longest suffix of `text` that is a proper prefix of `word`.
size_t partial_suffix(const std::string& text, const std::string& word) {
  for (size_t n = std::min(text.size(), word.size() - 1); n > 0; --n) {
    if (text.compare(text.size() - n, n, word, 0, n) == 0) return n;
  }
  return 0;
}

// {"name": ..., "arguments" | "parameters": {...} or "..."} -> a call; none when it is not one.
std::optional<ToolCall> call_of(const std::string& json_text, const char* arguments_key) {
  ordered_json value;
  try {
    value = ordered_json::parse(json_text);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  if (!value.is_object() || !value.contains("name") || !value["name"].is_string()) return std::nullopt;
  ToolCall call;
  call.id = make_tool_call_id();
  call.name = value["name"].get<std::string>();
  const ordered_json* arguments = nullptr;
  for (const char* key : {arguments_key, "arguments", "parameters"}) {
    if (!arguments && value.contains(key)) arguments = &value[key];
  }
  if (!arguments || arguments->is_null()) {
    call.arguments = "{}";
  } else if (arguments->is_string()) {
    call.arguments = arguments->get<std::string>();
  } else {
    call.arguments = arguments->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return call;
}

std::vector<ToolCall> hermes_calls(const std::string& s, size_t* consumed, bool* malformed) {
  std::vector<ToolCall> calls;
  size_t i = 0;
  const std::string open = kHermesOpen, close = kHermesClose;
  for (;;) {
    const size_t start = skip_space(s, i);
    if (s.compare(start, open.size(), open) != 0) {
      if (start < s.size() && partial_suffix(s.substr(start), open) != s.size() - start) *malformed = true;
      break;
    }
    const size_t end = s.find(close, start + open.size());
    if (end == std::string::npos) break;
    std::optional<ToolCall> call =
        call_of(s.substr(start + open.size(), end - start - open.size()), "arguments");
    if (!call) {
      *malformed = true;
      break;
    }
    calls.push_back(std::move(*call));
    i = end + close.size();
  }
  *consumed = i;
  return calls;
}

std::vector<ToolCall> llama_calls(const std::string& s, size_t* consumed, bool* malformed) {
  std::vector<ToolCall> calls;
  const std::string tag = kPythonTag;
  size_t i = s.compare(0, tag.size(), tag) == 0 ? tag.size() : 0;
  for (;;) {
    size_t start = skip_space(s, i);
    if (!calls.empty()) {
      if (start >= s.size()) break;
      if (s[start] != ';') {
        *malformed = true;
        break;
      }
      start = skip_space(s, start + 1);
    }
    if (start >= s.size()) break;
    if (s[start] != '{') {
      *malformed = true;
      break;
    }
    const size_t end = json_value_end(s, start);
    if (end == std::string::npos) break;
    std::optional<ToolCall> call = call_of(s.substr(start, end - start), "parameters");
    if (!call) {
      *malformed = true;
      break;
    }
    calls.push_back(std::move(*call));
    i = end;
  }
  *consumed = i;
  return calls;
}

std::vector<ToolCall> mistral_calls(const std::string& s, size_t* consumed, bool* malformed) {
  std::vector<ToolCall> calls;
  const std::string open = kMistralOpen, args = kMistralArgs;
  size_t i = 0;
  for (;;) {
    size_t start = skip_space(s, i);
    if (start >= s.size()) break;
    if (s.compare(start, open.size(), open) != 0) {
      if (partial_suffix(s.substr(start), open) != s.size() - start) *malformed = true;
      break;
    }
    start = skip_space(s, start + open.size());
    if (start >= s.size()) break;
    if (s[start] == '[') {
      // A JSON array of calls: each element as it completes.
      size_t k = start + 1;
      bool closed = false;
      for (;;) {
        k = skip_space(s, k);
        if (k < s.size() && s[k] == ',') k = skip_space(s, k + 1);
        if (k >= s.size()) break;
        if (s[k] == ']') {
          closed = true;
          ++k;
          break;
        }
        const size_t end = json_value_end(s, k);
        if (end == std::string::npos) break;
        std::optional<ToolCall> call = call_of(s.substr(k, end - k), "arguments");
        if (!call) {
          *malformed = true;
          break;
        }
        calls.push_back(std::move(*call));
        k = end;
        i = start;  // the array is consumed only once it closes
      }
      if (!closed || *malformed) break;
      i = k;
      continue;
    }
    // name[ARGS]{...}
    const size_t marker = s.find(args, start);
    if (marker == std::string::npos) break;
    const size_t body = skip_space(s, marker + args.size());
    if (body >= s.size()) break;
    const size_t end = json_value_end(s, body);
    if (end == std::string::npos) break;
    ToolCall call;
    call.id = make_tool_call_id();
    call.name = s.substr(start, marker - start);
    try {
      call.arguments = ordered_json::parse(s.substr(body, end - body)).dump();
    } catch (const nlohmann::json::exception&) {
      *malformed = true;
      break;
    }
    calls.push_back(std::move(call));
    i = end;
  }
  // Calls counted from an array that has not closed yet are reported again (with the same text) later; the
  // caller keeps what it has already seen by index.
  *consumed = i;
  return calls;
}

std::string call_rule(ToolFormat format, const std::string& name, const std::string& args_rule) {
  const std::string key = format == ToolFormat::kLlama3Json ? "parameters" : "arguments";
  return gbnf_literal("{\"name\": " + ordered_json(name).dump() + ", \"" + key + "\": ") + " " + args_rule +
         " \"}\"";
}

}  // namespace

ToolFormat tool_format_of(const std::string& source) {
  if (source.find(kMistralOpen) != std::string::npos) return ToolFormat::kMistral;
  if (source.find(kPythonTag) != std::string::npos ||
      (source.find("\"parameters\"") != std::string::npos && source.find(kHermesOpen) == std::string::npos &&
       source.find("<|start_header_id|>") != std::string::npos)) {
    return ToolFormat::kLlama3Json;
  }
  return ToolFormat::kHermes;
}

const char* tool_format_name(ToolFormat format) {
  switch (format) {
    case ToolFormat::kHermes:
      return "hermes";
    case ToolFormat::kLlama3Json:
      return "llama3_json";
    case ToolFormat::kMistral:
      return "mistral";
  }
  return "?";
}

std::string make_tool_call_id() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) id += kAlphabet[random() % (sizeof kAlphabet - 1)];
  return id;
}

size_t json_value_end(const std::string& text, size_t start) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = start; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
      if (depth < 0) return std::string::npos;
    }
  }
  return std::string::npos;
}

size_t find_tool_opener(ToolFormat format, const std::string& content, bool at_reply_start, size_t* held) {
  *held = 0;
  std::vector<std::string> openers;
  switch (format) {
    case ToolFormat::kHermes:
      openers = {kHermesOpen};
      break;
    case ToolFormat::kMistral:
      openers = {kMistralOpen};
      break;
    case ToolFormat::kLlama3Json:
      openers = {kPythonTag};
      break;
  }
  if (format == ToolFormat::kLlama3Json && at_reply_start) {
    const size_t first = skip_space(content, 0);
    if (first < content.size() && content[first] == '{') return first;
  }
  size_t best = std::string::npos;
  for (const std::string& opener : openers) {
    const size_t at = content.find(opener);
    if (at < best) best = at;
    *held = std::max(*held, partial_suffix(content, opener));
  }
  return best;
}

std::vector<ToolCall> complete_tool_calls(ToolFormat format, const std::string& section, size_t* consumed,
                                          bool* malformed) {
  *malformed = false;
  switch (format) {
    case ToolFormat::kHermes:
      return hermes_calls(section, consumed, malformed);
    case ToolFormat::kLlama3Json:
      return llama_calls(section, consumed, malformed);
    case ToolFormat::kMistral:
      return mistral_calls(section, consumed, malformed);
  }
  return {};
}

std::string tool_call_gbnf(ToolFormat format, const std::vector<ToolSpec>& tools, bool parallel) {
  std::vector<std::pair<std::string, ordered_json>> schemas;
  std::string alternatives;
  for (size_t i = 0; i < tools.size(); ++i) {
    const std::string args = "tool-args" + std::to_string(i);
    ordered_json parameters = tools[i].parameters;
    if (parameters.is_null()) parameters = {{"type", "object"}, {"properties", ordered_json::object()}};
    schemas.emplace_back(args, parameters);
    alternatives += (i ? " | " : "") + call_rule(format, tools[i].name, args);
  }
  std::string root;
  switch (format) {
    case ToolFormat::kHermes:
      root = "root ::= call-block" + std::string(parallel ? " (\"\\n\" call-block)*" : "") +
             "\ncall-block ::= \"<tool_call>\\n\" call \"\\n</tool_call>\"\n";
      break;
    case ToolFormat::kLlama3Json:
      root = "root ::= call" + std::string(parallel ? " (\"; \" call)*" : "") + "\n";
      break;
    case ToolFormat::kMistral:
      root = "root ::= \"[TOOL_CALLS][\" call" + std::string(parallel ? " (\", \" call)*" : "") + " \"]\"\n";
      break;
  }
  return root + "call ::= " + alternatives + "\n" + json_schemas_to_gbnf(schemas);
}

}  // namespace torchllm::server
