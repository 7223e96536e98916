#pragma once

#include <ostream>
#include <string>
#include <string_view>

namespace torchllm::cli {

// Streams a reply, telling the reasoning in <think>...</think> apart from the answer. Tags can arrive split
// across deltas, so text that may be the start of a tag is held back until it is known.
class ReplyPrinter {
 public:
  enum class Reasoning {
    kPlain,  // as generated, tags included (no terminal colours)
    kDim,    // as generated, reasoning and its tags dimmed
    kHide,   // left out, with the whitespace the model puts after </think>
  };

  // in_reasoning: the prompt already opened <think> (templates that start every reply thinking).
  // placeholder: while hidden reasoning runs, show a dimmed "thinking..." on its own line (terminals only: it
  // is erased with a carriage return).
  // terminal: `out` is a terminal, where the reply's control characters (all but newline and tab, and C1
  // controls) are shown as their Unicode pictures (ESC as U+241B) instead of being obeyed: a model's output
  // must not clear the screen, switch the character set or move the cursor.
  ReplyPrinter(std::ostream& out, Reasoning reasoning, bool in_reasoning, bool placeholder = false,
               bool terminal = false);

  void write(std::string_view text);
  // Writes what was held back; leaves the output undimmed.
  void finish();
  // Whether the output so far ends a line (or is empty).
  bool at_line_start() const { return at_line_start_; }

 private:
  void open_reasoning(bool tag_written);
  void close_reasoning();
  void erase_placeholder();
  void emit(std::string_view text);  // text of the current part (reasoning or answer)
  void put(std::string_view text, bool dim);

  std::ostream& out_;
  Reasoning reasoning_;
  bool placeholder_;
  bool terminal_;
  bool in_reasoning_ = false;
  bool placeholder_shown_ = false;
  bool skip_whitespace_ = false;  // after hidden reasoning, until the answer starts
  bool at_line_start_ = true;
  std::string held_;  // a possible start of the next tag
};

}  // namespace torchllm::cli
