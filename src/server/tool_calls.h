#pragma once

// Tool calls in the formats the supported model families write them, chosen from the chat template:
//   Hermes / Qwen 2.5 / Qwen 3: <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call> (one block each)
//   Llama 3.1-3.3:              {"name": ..., "parameters": {...}} (optionally after <|python_tag|>; several
//                               separated by ';')
//   Mistral:                    [TOOL_CALLS][{"name": ..., "arguments": {...}}, ...] or
//                               [TOOL_CALLS]name[ARGS]{...} (newer tokenizers)
// Parsing (whole replies and growing prefixes of them) and the grammar of a reply made only of calls.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace torchllm::server {

enum class ToolFormat { kHermes, kLlama3Json, kMistral };

// From the chat template's source: [TOOL_CALLS] -> Mistral, <|python_tag|> or Llama 3's "parameters" JSON
// instruction -> Llama 3, anything else (<tool_call>, ChatML, none) -> Hermes.
ToolFormat tool_format_of(const std::string& template_source);
const char* tool_format_name(ToolFormat format);

struct ToolCall {
  std::string id;  // call_...
  std::string name;
  std::string arguments;  // a JSON object, as text
};

// A new random id: OpenAI's form ("call_" and 24 letters or digits), or for Mistral's format 9 letters or
// digits, the only ids Mistral's chat templates accept when the call comes back in the history.
std::string make_tool_call_id(ToolFormat format = ToolFormat::kHermes);

// Where the tool-call markup starts in `content`: the format's opener (Llama 3: <|python_tag|>, or `{` as the
// first non-space character of the reply). npos when none. `held`: set to how many trailing bytes might be
// the start of an opener, so a stream holds them back until the next text decides.
size_t find_tool_opener(ToolFormat format, const std::string& content, bool at_reply_start, size_t* held);

// The call being written after the complete ones, once its name is complete and its arguments object has
// begun: `arguments` is that object's text so far, which the finished call's arguments will start with.
struct PartialToolCall {
  std::string name;
  std::string arguments;
};

// The calls complete in `section` (text from the opener on). `consumed`: bytes of section they cover.
// `malformed`: set when a complete block is not a well-formed call (the rest is then not a call).
// `partial` (optional): set to the call being written after them, if it shows a name and arguments yet.
// A call's arguments are the model's own text of its arguments object (valid JSON, spacing kept), so that
// a stream of their pieces adds up to them.
std::vector<ToolCall> complete_tool_calls(ToolFormat format, const std::string& section, size_t* consumed,
                                          bool* malformed, std::optional<PartialToolCall>* partial = nullptr);

// Past the end of the JSON object or array starting at text[start] (strings and escapes respected); npos
// when it is not complete yet.
size_t json_value_end(const std::string& text, size_t start);

struct ToolSpec {
  std::string name;
  nlohmann::ordered_json parameters;  // a JSON schema of an object
};

// GBNF for a reply that consists of calls of `tools` in `format` (one, or one or more when `parallel`).
// Throws Error(kUnsupported / kInvalidArgument) for a parameters schema the converter cannot take.
std::string tool_call_gbnf(ToolFormat format, const std::vector<ToolSpec>& tools, bool parallel);

}  // namespace torchllm::server
