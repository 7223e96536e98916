#include "cli/chat_reply_printer.h"

#include <string>

namespace torchllm::cli {
namespace {

// Text with its C0 controls but newline and tab, and DEL, as the Unicode control pictures (U+2400 + code,
// U+2421), and C1 controls (U+0080..U+009F) as U+FFFD.
std::string control_pictures(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte < 0x20 && byte != '\n' && byte != '\t') || byte == 0x7f) {
      const unsigned code = byte == 0x7f ? 0x2421 : 0x2400 + byte;  // three UTF-8 bytes
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (byte == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

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

ReplyPrinter::ReplyPrinter(std::ostream& out, Reasoning reasoning, bool in_reasoning, bool placeholder,
                           bool terminal)
    : out_(out),
      reasoning_(reasoning),
      placeholder_(placeholder && reasoning == Reasoning::kHide),
      terminal_(terminal) {
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
  const std::string shown = terminal_ ? control_pictures(text) : std::string(text);
  if (dim) {
    out_ << kDim << shown << kReset;
  } else {
    out_ << shown;
  }
  at_line_start_ = text.back() == '\n';
}

}  // namespace torchllm::cli
