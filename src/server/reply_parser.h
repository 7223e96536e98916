#pragma once

// A model's reply split into what OpenAI's API reports separately: reasoning (<think>...</think>, as
// reasoning_content), content, and tool calls (in the model family's format). Works on a growing reply: each
// push() returns what became certain, holding back text that may still turn out to be markup (a partial
// "<tool_call>" or "</think>"), so that a stream never shows markup as content.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/tool_calls.h"

namespace torchllm::server {

struct ReplyOptions {
  bool reasoning = false;            // the template thinks in <think>...</think>
  bool starts_in_reasoning = false;  // the prompt already opened <think>
  std::optional<ToolFormat> tools;   // none: tool calls are not parsed (no tools, or tool_choice none)
  // Streaming: a call is announced (id, name) as soon as its name is complete and its arguments follow in
  // pieces as they are written, as OpenAI streams them. A call cut off (max_tokens) then stays a call with
  // the arguments it had; without this option it comes out whole when complete, and a cut-off one is content.
  bool stream_arguments = false;
};

// One tool call's part of a stream chunk: the first one of a call carries id and name, and the pieces of a
// call's arguments add up to its arguments.
struct ToolCallDelta {
  int64_t index = 0;
  std::optional<std::string> id, name;
  std::string arguments;
};

struct ReplyDelta {
  std::string reasoning, content;
  std::vector<ToolCallDelta> tool_calls;
  bool empty() const { return reasoning.empty() && content.empty() && tool_calls.empty(); }
};

class ReplyParser {
 public:
  explicit ReplyParser(const ReplyOptions& options);

  ReplyDelta push(const std::string& text);
  // The end of the reply: everything held back, and markup that never became a call as content.
  ReplyDelta finish();

  const std::string& reasoning() const { return reasoning_; }
  const std::string& content() const { return content_; }
  const std::vector<ToolCall>& tool_calls() const { return calls_; }

 private:
  enum class State { kStart, kReasoning, kContent, kTools };
  void run(ReplyDelta& out, bool final);
  void emit_reasoning(ReplyDelta& out, const std::string& text);
  void emit_content(ReplyDelta& out, const std::string& text);
  void take_calls(ReplyDelta& out);

  ReplyOptions options_;
  State state_ = State::kStart;
  std::string pending_;              // not yet classified
  std::string section_;              // tool-call markup so far
  bool trim_content_start_ = false;  // after </think>: the blank lines between thought and answer
  bool reasoning_started_ = false;
  std::string reasoning_, content_;
  std::vector<ToolCall> calls_;
  // The call announced before it was complete (stream_arguments): its index, id and the arguments sent.
  std::optional<int64_t> open_call_;
  std::string open_call_id_, open_call_name_, open_call_arguments_;
};

}  // namespace torchllm::server
