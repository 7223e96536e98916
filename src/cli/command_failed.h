#pragma once

#include <stdexcept>
#include <string>

namespace torchllm::cli {

// A subcommand's own failure with the exit code its interface promises (e.g. `template` exits 1 on a template
// error); main prints the message as one line.
class CommandFailed : public std::runtime_error {
 public:
  CommandFailed(const std::string& message, int exit_code)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// Errors are reported as exactly one line: newlines in a message become spaces.
inline std::string one_line(std::string message) {
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return message;
}

}  // namespace torchllm::cli
