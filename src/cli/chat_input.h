#pragma once

#include <optional>
#include <string>
#include <vector>

namespace torchllm::cli {

// One complete input of `chat`: a message or a slash command.
struct ChatInput {
  std::string text;
  // Written as a """ block from the start of the line: always a message, even when it starts with '/'.
  bool literal = false;
};

// Joins typed lines into inputs, as ollama and llama-cli users expect: a line ending in a backslash continues
// on the next line, and """ opens a block that runs to a line ending in """. The block may start a line or
// follow a slash command (`/system """`), so that commands can take several lines too.
class MultilineInput {
 public:
  // The complete input once `line` ends one; nothing while it continues.
  std::optional<ChatInput> feed(const std::string& line);
  // Whether an input is open, for the continuation prompt.
  bool continuing() const { return mode_ != Mode::kLine; }
  // At the end of the input stream: what is open, as if it had been closed.
  std::optional<ChatInput> finish();
  // Drops what is open (Ctrl-C).
  void reset();

 private:
  enum class Mode { kLine, kBackslash, kBlock };

  ChatInput take();

  Mode mode_ = Mode::kLine;
  std::string head_;  // text before the opening """ (a slash command and its space)
  std::vector<std::string> lines_;
  bool literal_ = false;
};

}  // namespace torchllm::cli
