#include "server/tool_calls.h"

#include <algorithm>
#include <random>
#include <stdexcept>

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

// Past the closing quote of the JSON string starting at s[start]; npos when it is not complete yet.
size_t json_string_end(const std::string& s, size_t start) {
  bool escaped = false;
  for (size_t i = start + 1; i < s.size(); ++i) {
    if (escaped) {
      escaped = false;
    } else if (s[i] == '\\') {
      escaped = true;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return std::string::npos;
}

// What the members of a call object (s[start] == '{') show so far, as far as s goes.
struct CallScan {
  std::optional<std::string> name;
  size_t arguments_at = std::string::npos;   // where the value of "arguments" starts
  size_t parameters_at = std::string::npos;  // where the value of "parameters" starts
  // The arguments value of a call whose arguments are under `key` (the other key if it is absent).
  size_t arguments_value(const char* key) const {
    const bool parameters_first = std::string(key) == "parameters";
    const size_t first = parameters_first ? parameters_at : arguments_at;
    return first != std::string::npos ? first : (parameters_first ? arguments_at : parameters_at);
  }
};

CallScan scan_call(const std::string& s, size_t start) {
  CallScan out;
  size_t i = start + 1;
  for (;;) {
    i = skip_space(s, i);
    if (i >= s.size() || s[i] != '"') return out;
    const size_t key_end = json_string_end(s, i);
    if (key_end == std::string::npos) return out;
    std::string key;
    try {
      key = ordered_json::parse(s.substr(i, key_end - i)).get<std::string>();
    } catch (const nlohmann::json::exception&) {
      return out;
    }
    i = skip_space(s, key_end);
    if (i >= s.size() || s[i] != ':') return out;
    i = skip_space(s, i + 1);
    if (i >= s.size()) return out;
    if (key == "arguments") out.arguments_at = i;
    if (key == "parameters") out.parameters_at = i;
    size_t end = std::string::npos;
    if (s[i] == '"') {
      end = json_string_end(s, i);
      if (key == "name" && end != std::string::npos) {
        try {
          out.name = ordered_json::parse(s.substr(i, end - i)).get<std::string>();
        } catch (const nlohmann::json::exception&) {
          return out;
        }
      }
    } else if (s[i] == '{' || s[i] == '[') {
      end = json_value_end(s, i);
    } else {
      end = s.find_first_of(",}", i);
    }
    if (end == std::string::npos) return out;
    i = skip_space(s, end);
    if (i >= s.size() || s[i] != ',') return out;
    ++i;
  }
}

// The call object at s[start] as far as it is written: its name and the text of its arguments object so far.
std::optional<PartialToolCall> partial_call(const std::string& s, size_t start, const char* arguments_key) {
  if (start >= s.size() || s[start] != '{') return std::nullopt;
  const CallScan scan = scan_call(s, start);
  const size_t at = scan.arguments_value(arguments_key);
  if (!scan.name || at == std::string::npos || at >= s.size() || s[at] != '{') return std::nullopt;
  const size_t end = json_value_end(s, at);
  return PartialToolCall{*scan.name, s.substr(at, end == std::string::npos ? std::string::npos : end - at)};
}

// {"name": ..., "arguments" | "parameters": {...} or "..."} -> a call; none when it is not one.
std::optional<ToolCall> call_of(const std::string& json_text, const char* arguments_key,
                                ToolFormat format = ToolFormat::kHermes) {
  ordered_json value;
  try {
    value = ordered_json::parse(json_text);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  if (!value.is_object() || !value.contains("name") || !value["name"].is_string()) return std::nullopt;
  ToolCall call;
  call.id = make_tool_call_id(format);
  call.name = value["name"].get<std::string>();
  const ordered_json* arguments = nullptr;
  for (const char* key : {arguments_key, "arguments", "parameters"}) {
    if (!arguments && value.contains(key)) arguments = &value[key];
  }
  if (!arguments || arguments->is_null()) {
    call.arguments = "{}";
  } else if (arguments->is_string()) {
    call.arguments = arguments->get<std::string>();
  } else if (arguments->is_object()) {
    // The model's own text of the object (the parse above proved it JSON), as a stream sends it.
    const size_t at = scan_call(json_text, skip_space(json_text, 0)).arguments_value(arguments_key);
    const size_t end = at == std::string::npos ? std::string::npos : json_value_end(json_text, at);
    call.arguments = end == std::string::npos ? arguments->dump() : json_text.substr(at, end - at);
  } else {
    call.arguments = arguments->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return call;
}

std::vector<ToolCall> hermes_calls(const std::string& s, size_t* consumed, bool* malformed,
                                   std::optional<PartialToolCall>* partial) {
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
    if (end == std::string::npos) {
      *partial = partial_call(s, skip_space(s, start + open.size()), "arguments");
      break;
    }
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

std::vector<ToolCall> llama_calls(const std::string& s, size_t* consumed, bool* malformed,
                                  std::optional<PartialToolCall>* partial) {
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
    if (end == std::string::npos) {
      *partial = partial_call(s, start, "parameters");
      break;
    }
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

std::vector<ToolCall> mistral_calls(const std::string& s, size_t* consumed, bool* malformed,
                                    std::optional<PartialToolCall>* partial) {
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
        if (end == std::string::npos) {
          *partial = partial_call(s, k, "arguments");
          break;
        }
        std::optional<ToolCall> call = call_of(s.substr(k, end - k), "arguments", ToolFormat::kMistral);
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
    if (end == std::string::npos) {
      if (s[body] == '{') *partial = PartialToolCall{s.substr(start, marker - start), s.substr(body)};
      break;
    }
    ToolCall call;
    call.id = make_tool_call_id(ToolFormat::kMistral);
    call.name = s.substr(start, marker - start);
    try {
      if (!ordered_json::parse(s.substr(body, end - body)).is_object()) throw std::invalid_argument("");
      call.arguments = s.substr(body, end - body);
    } catch (const std::exception&) {
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

std::string make_tool_call_id(ToolFormat format) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bool mistral = format == ToolFormat::kMistral;
  std::string id = mistral ? "" : "call_";
  for (int i = 0; i < (mistral ? 9 : 24); ++i) id += kAlphabet[random() % (sizeof kAlphabet - 1)];
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
                                          bool* malformed, std::optional<PartialToolCall>* partial) {
  *malformed = false;
  std::optional<PartialToolCall> unused;
  if (partial == nullptr) partial = &unused;
  *partial = std::nullopt;
  switch (format) {
    case ToolFormat::kHermes:
      return hermes_calls(section, consumed, malformed, partial);
    case ToolFormat::kLlama3Json:
      return llama_calls(section, consumed, malformed, partial);
    case ToolFormat::kMistral:
      return mistral_calls(section, consumed, malformed, partial);
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
