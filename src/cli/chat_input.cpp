#include "cli/chat_input.h"

namespace torchllm::cli {
namespace {

constexpr const char* kQuotes = "\"\"\"";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Where an opening """ starts in a line that is not inside an input, or npos: at the start, or as the
// argument of a slash command. Anywhere else quotes are text.
size_t block_start(const std::string& line) {
  if (line.compare(0, 3, kQuotes) == 0) return 0;
  if (line.empty() || line[0] != '/') return std::string::npos;
  const size_t space = line.find(' ');
  if (space == std::string::npos) return std::string::npos;
  const size_t argument = line.find_first_not_of(' ', space);
  if (argument == std::string::npos || line.compare(argument, 3, kQuotes) != 0) return std::string::npos;
  return argument;
}

}  // namespace

std::optional<ChatInput> MultilineInput::feed(const std::string& raw) {
  std::string line = raw;
  if (!line.empty() && line.back() == '\r') line.pop_back();  // a script written on Windows
  switch (mode_) {
    case Mode::kBlock:
      if (ends_with(line, kQuotes)) {
        line.resize(line.size() - 3);
        if (!line.empty()) lines_.push_back(line);
        return take();
      }
      lines_.push_back(line);
      return std::nullopt;
    case Mode::kBackslash:
      if (ends_with(line, "\\")) {
        lines_.push_back(line.substr(0, line.size() - 1));
        return std::nullopt;
      }
      lines_.push_back(line);
      return take();
    case Mode::kLine:
      break;
  }
  if (const size_t start = block_start(line); start != std::string::npos) {
    head_ = line.substr(0, start);
    literal_ = start == 0;
    std::string rest = line.substr(start + 3);
    if (ends_with(rest, kQuotes)) {  // """one line"""
      rest.resize(rest.size() - 3);
      lines_.push_back(rest);
      return take();
    }
    mode_ = Mode::kBlock;
    if (!rest.empty()) lines_.push_back(rest);
    return std::nullopt;
  }
  if (ends_with(line, "\\")) {
    mode_ = Mode::kBackslash;
    lines_.push_back(line.substr(0, line.size() - 1));
    return std::nullopt;
  }
  return ChatInput{line, false};
}

std::optional<ChatInput> MultilineInput::finish() {
  if (mode_ == Mode::kLine) return std::nullopt;
  return take();
}

void MultilineInput::reset() {
  mode_ = Mode::kLine;
  head_.clear();
  lines_.clear();
  literal_ = false;
}

ChatInput MultilineInput::take() {
  ChatInput input{head_, literal_};
  for (size_t i = 0; i < lines_.size(); ++i) {
    if (i > 0) input.text += '\n';
    input.text += lines_[i];
  }
  reset();
  return input;
}

}  // namespace torchllm::cli
