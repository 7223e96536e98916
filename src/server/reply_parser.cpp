#include "server/reply_parser.h"

#include <algorithm>

namespace torchllm::server {
namespace {

const std::string kThinkOpen = "<think>";
const std::string kThinkClose = "</think>";

bool all_space(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

size_t partial_suffix(const std::string& text, const std::string& word) {
  for (size_t n = std::min(text.size(), word.size() - 1); n > 0; --n) {
    if (text.compare(text.size() - n, n, word, 0, n) == 0) return n;
  }
  return 0;
}

}  // namespace

ReplyParser::ReplyParser(const ReplyOptions& options) : options_(options) {
  if (options_.reasoning && options_.starts_in_reasoning) state_ = State::kReasoning;
}

void ReplyParser::emit_reasoning(ReplyDelta& out, const std::string& text) {
  std::string t = text;
  if (!reasoning_started_) {
    const size_t first = t.find_first_not_of('\n');
    t = first == std::string::npos ? "" : t.substr(first);
    if (t.empty()) return;
    reasoning_started_ = true;
  }
  reasoning_ += t;
  out.reasoning += t;
}

void ReplyParser::emit_content(ReplyDelta& out, const std::string& text) {
  std::string t = text;
  if (trim_content_start_) {
    const size_t first = t.find_first_not_of(" \t\r\n");
    t = first == std::string::npos ? "" : t.substr(first);
    if (t.empty()) return;
    trim_content_start_ = false;
  }
  content_ += t;
  out.content += t;
}

void ReplyParser::take_calls(ReplyDelta& out) {
  size_t consumed = 0;
  bool malformed = false;
  std::optional<PartialToolCall> partial;
  std::vector<ToolCall> calls =
      complete_tool_calls(*options_.tools, section_, &consumed, &malformed, &partial);
  for (size_t i = calls_.size(); i < calls.size(); ++i) {
    ToolCallDelta delta;
    delta.index = static_cast<int64_t>(i);
    if (open_call_ == delta.index && calls[i].arguments.rfind(open_call_arguments_, 0) == 0) {
      calls[i].id = open_call_id_;  // announced already: only the rest of its arguments
      delta.arguments = calls[i].arguments.substr(open_call_arguments_.size());
      open_call_.reset();
      if (!delta.arguments.empty()) out.tool_calls.push_back(std::move(delta));
    } else {
      delta.id = calls[i].id;
      delta.name = calls[i].name;
      delta.arguments = calls[i].arguments;
      out.tool_calls.push_back(std::move(delta));
    }
    calls_.push_back(std::move(calls[i]));
  }
  if (!options_.stream_arguments || !partial || malformed) return;
  ToolCallDelta delta;
  delta.index = static_cast<int64_t>(calls_.size());
  if (open_call_ != delta.index) {
    open_call_ = delta.index;
    open_call_id_ = make_tool_call_id(*options_.tools);
    open_call_name_ = partial->name;
    open_call_arguments_.clear();
    delta.id = open_call_id_;
    delta.name = partial->name;
  } else if (partial->arguments.size() <= open_call_arguments_.size()) {
    return;
  }
  delta.arguments = partial->arguments.substr(open_call_arguments_.size());
  open_call_arguments_ = partial->arguments;
  out.tool_calls.push_back(std::move(delta));
}

void ReplyParser::run(ReplyDelta& out, bool final) {
  for (;;) {
    switch (state_) {
      case State::kStart: {
        if (!options_.reasoning) {
          state_ = State::kContent;
          continue;
        }
        const size_t first = pending_.find_first_not_of(" \t\r\n");
        if (first == std::string::npos) {
          if (!final) return;
          state_ = State::kContent;
          continue;
        }
        const std::string rest = pending_.substr(first);
        if (rest.compare(0, kThinkOpen.size(), kThinkOpen) == 0) {
          pending_ = rest.substr(kThinkOpen.size());
          state_ = State::kReasoning;
          continue;
        }
        if (!final && kThinkOpen.compare(0, rest.size(), rest) == 0) return;  // may still become <think>
        state_ = State::kContent;
        continue;
      }
      case State::kReasoning: {
        const size_t close = pending_.find(kThinkClose);
        if (close != std::string::npos) {
          std::string thought = pending_.substr(0, close);
          while (!thought.empty() && thought.back() == '\n') thought.pop_back();
          emit_reasoning(out, thought);
          pending_ = pending_.substr(close + kThinkClose.size());
          trim_content_start_ = true;
          state_ = State::kContent;
          continue;
        }
        // Newlines before a possible </think> are held too: they belong to no side until it is known.
        size_t keep = final ? 0 : partial_suffix(pending_, kThinkClose);
        while (!final && keep < pending_.size() && pending_[pending_.size() - keep - 1] == '\n') ++keep;
        emit_reasoning(out, pending_.substr(0, pending_.size() - keep));
        pending_ = pending_.substr(pending_.size() - keep);
        return;
      }
      case State::kContent: {
        if (!options_.tools) {
          emit_content(out, pending_);
          pending_.clear();
          return;
        }
        size_t held = 0;
        const size_t at = find_tool_opener(*options_.tools, pending_, content_.empty(), &held);
        if (at != std::string::npos) {
          emit_content(out, pending_.substr(0, at));
          section_ = pending_.substr(at);
          pending_.clear();
          state_ = State::kTools;
          continue;
        }
        // At the reply's start, Llama 3's bare JSON call may still begin after the whitespace held here.
        if (!final && content_.empty() && all_space(pending_)) return;
        if (final) held = 0;
        emit_content(out, pending_.substr(0, pending_.size() - held));
        pending_ = pending_.substr(pending_.size() - held);
        return;
      }
      case State::kTools: {
        section_ += pending_;
        pending_.clear();
        take_calls(out);
        if (final) {
          size_t consumed = 0;
          bool malformed = false;
          complete_tool_calls(*options_.tools, section_, &consumed, &malformed);
          // What never became a call (a malformed or cut-off block) is content, as vLLM returns it, unless
          // the stream has announced it as a call already.
          const std::string rest = section_.substr(consumed);
          if (open_call_) {
            calls_.push_back({open_call_id_, open_call_name_, open_call_arguments_});
            open_call_.reset();
          } else if (!all_space(rest)) {
            emit_content(out, rest);
          }
          section_.clear();
        }
        return;
      }
    }
  }
}

ReplyDelta ReplyParser::push(const std::string& text) {
  ReplyDelta out;
  pending_ += text;
  run(out, false);
  return out;
}

ReplyDelta ReplyParser::finish() {
  ReplyDelta out;
  run(out, true);
  return out;
}

}  // namespace torchllm::server
