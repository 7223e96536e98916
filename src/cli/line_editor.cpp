#include "cli/line_editor.h"

#include <histedit.h>
#include <sys/stat.h>

#include <cerrno>
#include <clocale>
#include <csignal>
#include <cstring>
#include <iostream>

namespace torchllm::cli {
namespace {

volatile sig_atomic_t g_interrupted = 0;

extern "C" void on_prompt_sigint(int) { g_interrupted = 1; }

// While the prompt waits, SIGINT only sets a flag; without SA_RESTART the read under el_gets then fails with
// EINTR and el_gets returns, leaving the line it had in el_line().
class PromptSigint {
 public:
  PromptSigint() {
    g_interrupted = 0;
    struct sigaction action {};
    action.sa_handler = on_prompt_sigint;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    sigaction(SIGINT, &action, &previous_);
  }
  ~PromptSigint() { sigaction(SIGINT, &previous_, nullptr); }
  PromptSigint(const PromptSigint&) = delete;
  PromptSigint& operator=(const PromptSigint&) = delete;

 private:
  struct sigaction previous_ {};
};

// mkdir -p for the history file's directory.
void make_parent_directories(const std::string& file) {
  for (size_t slash = file.find('/', 1); slash != std::string::npos; slash = file.find('/', slash + 1)) {
    ::mkdir(file.substr(0, slash).c_str(), 0700);  // existing directories fail harmlessly
  }
}

}  // namespace

LineEditor::LineEditor(const char* program, FILE* in, FILE* out, std::string history_file)
    : history_file_(std::move(history_file)) {
  // libedit decodes multibyte input with the C library's locale; in the "C" locale UTF-8 text would be shown
  // as octal escapes. Model output is UTF-8 whatever the locale says.
  const char* locale = std::setlocale(LC_CTYPE, "");
  if (!locale || std::strcmp(locale, "C") == 0 || std::strcmp(locale, "POSIX") == 0) {
    std::setlocale(LC_CTYPE, "C.UTF-8");
  }

  HistEvent event;
  history_ = ::history_init();
  ::history(history_, &event, H_SETSIZE, 1000);
  ::history(history_, &event, H_SETUNIQUE, 1);
  if (!history_file_.empty()) {
    make_parent_directories(history_file_);
    ::history(history_, &event, H_LOAD, history_file_.c_str());  // a first session has no file yet
  }

  el_ = ::el_init(program, in, out, stderr);
  ::el_set(el_, EL_CLIENTDATA, this);
  ::el_set(el_, EL_EDITOR, "emacs");
  ::el_set(el_, EL_SIGNAL, 0);  // libedit's own handlers would re-raise SIGINT to the process group
  ::el_set(el_, EL_PROMPT, &LineEditor::prompt_of);
  ::el_set(el_, EL_HIST, ::history, history_);
  ::el_set(el_, EL_BIND, "^R", "em-inc-search-prev", nullptr);
  ::el_source(el_, nullptr);  // ~/.editrc (or $EDITRC), e.g. "bind -v" for vi keys
}

LineEditor::~LineEditor() {
  ::el_end(el_);
  ::history_end(history_);
}

const char* LineEditor::prompt_of(struct editline* el) {
  void* self = nullptr;
  ::el_get(el, EL_CLIENTDATA, &self);
  return static_cast<LineEditor*>(self)->prompt_.c_str();
}

LineEditor::Result LineEditor::read_line(const std::string& prompt) {
  prompt_ = prompt;
  ::el_resize(el_);  // the window may have changed while a reply streamed (we do not catch SIGWINCH)
  for (;;) {
    int count = 0;
    const char* line = nullptr;
    {
      PromptSigint sigint;
      line = ::el_gets(el_, &count);
    }
    if (line && count > 0) {
      std::string text(line, static_cast<size_t>(count));
      if (!text.empty() && text.back() == '\n') text.pop_back();
      return {Status::kLine, std::move(text)};
    }
    if (count < 0 && errno == EINTR) {
      if (!g_interrupted) continue;  // another signal: read on (what was typed is lost, rarely matters)
      const LineInfo* info = ::el_line(el_);
      return {Status::kInterrupted, std::string(info->buffer, info->lastchar)};
    }
    return {Status::kEnd, ""};
  }
}

void LineEditor::remember(const std::string& line) {
  HistEvent event;
  ::history(history_, &event, H_ENTER, line.c_str());
  if (history_file_.empty()) return;
  if (::history(history_, &event, H_SAVE, history_file_.c_str()) < 0 && !save_failed_) {
    save_failed_ = true;
    std::cerr << "torchllm: warning: cannot save the history to " << history_file_ << "\n";
  }
}

}  // namespace torchllm::cli
