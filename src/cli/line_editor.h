#pragma once

#include <cstdio>
#include <string>

// libedit's handles, declared here so that only line_editor.cpp sees <histedit.h>.
struct editline;
struct history;

namespace torchllm::cli {

// An interactive prompt with line editing and history (libedit, with the user's ~/.editrc), where Ctrl-C is
// reported to the caller instead of ending the process.
class LineEditor {
 public:
  enum class Status {
    kLine,         // a line was entered
    kInterrupted,  // Ctrl-C; text holds what the line had so far
    kEnd,          // Ctrl-D on an empty line, or the end of the input
  };
  struct Result {
    Status status = Status::kEnd;
    std::string text;  // without the newline
  };

  // `in` and `out` must be a terminal. history_file: where history is loaded from and saved to ("" for none);
  // its directory is created when missing.
  LineEditor(const char* program, FILE* in, FILE* out, std::string history_file);
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  Result read_line(const std::string& prompt);
  // Adds a line to the history and saves the file, so that history survives a session that is killed.
  void remember(const std::string& line);

 private:
  static const char* prompt_of(struct editline* el);

  struct editline* el_ = nullptr;
  struct history* history_ = nullptr;
  std::string history_file_;
  std::string prompt_;
  bool save_failed_ = false;  // warn about an unwritable history file once
};

}  // namespace torchllm::cli
