#include "cli/chat_reply_printer.h"

namespace torchllm::cli {
namespace {

constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";
constexpr std::string_view kDim = "\033[2m";
constexpr std::string_view kReset = "\033[0m";
constexpr std::string_view kEraseLine = "\r\033[K";

// Length of the longest proper prefix of `tag` that `text` ends with.
size_t partial_tag_at_end(std::string_view text, std::string_view tag) {
  for (size_t n = std::min(text.size(), tag.size() - 1); n > 0; --n) {
    if (text.substr(text.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}

}  // namespace

ReplyPrinter::ReplyPrinter(std::ostream& out, Reasoning reasoning, bool in_reasoning, bool placeholder)
    : out_(out), reasoning_(reasoning), placeholder_(placeholder && reasoning == Reasoning::kHide) {
  if (in_reasoning) open_reasoning(/*tag_written=*/false);
  out_.flush();
}

void ReplyPrinter::write(std::string_view delta) {
  std::string text = held_ + std::string(delta);
  held_.clear();
  std::string_view rest = text;
  for (;;) {
    const std::string_view tag = in_reasoning_ ? kClose : kOpen;
    const size_t at = rest.find(tag);
    if (at == std::string_view::npos) {
      const size_t partial = partial_tag_at_end(rest, tag);
      emit(rest.substr(0, rest.size() - partial));
      held_ = std::string(rest.substr(rest.size() - partial));
      break;
    }
    emit(rest.substr(0, at));
    rest.remove_prefix(at + tag.size());
    if (in_reasoning_) {
      close_reasoning();
    } else {
      open_reasoning(/*tag_written=*/true);
    }
  }
  out_.flush();
}

void ReplyPrinter::finish() {
  emit(held_);
  held_.clear();
  erase_placeholder();
  out_.flush();
}

void ReplyPrinter::open_reasoning(bool tag_written) {
  in_reasoning_ = true;
  if (reasoning_ != Reasoning::kHide) {
    if (tag_written) put(kOpen, reasoning_ == Reasoning::kDim);
    return;
  }
  // Erasing the placeholder clears its whole line, so it only goes on a line of its own.
  if (placeholder_ && at_line_start_) {
    put("thinking...", /*dim=*/true);
    placeholder_shown_ = true;
  }
}

void ReplyPrinter::close_reasoning() {
  in_reasoning_ = false;
  if (reasoning_ != Reasoning::kHide) {
    put(kClose, reasoning_ == Reasoning::kDim);
    return;
  }
  erase_placeholder();
  skip_whitespace_ = true;
}

void ReplyPrinter::erase_placeholder() {
  if (!placeholder_shown_) return;
  out_ << kEraseLine;
  placeholder_shown_ = false;
  at_line_start_ = true;
}

void ReplyPrinter::emit(std::string_view text) {
  if (text.empty()) return;
  if (in_reasoning_) {
    if (reasoning_ != Reasoning::kHide) put(text, reasoning_ == Reasoning::kDim);
    return;
  }
  if (skip_whitespace_) {
    const size_t start = text.find_first_not_of(" \t\r\n");
    if (start == std::string_view::npos) return;
    text.remove_prefix(start);
    skip_whitespace_ = false;
  }
  put(text, /*dim=*/false);
}

void ReplyPrinter::put(std::string_view text, bool dim) {
  if (text.empty()) return;
  if (dim) {
    out_ << kDim << text << kReset;
  } else {
    out_ << text;
  }
  at_line_start_ = text.back() == '\n';
}

}  // namespace torchllm::cli
