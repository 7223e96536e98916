#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "torchllm/tokenizer.h"

namespace torchllm::tokenizer::hf {

constexpr TokenId kNoToken = -1;

// A stretch of the input on its way through the pipeline: text still to be normalized, pre-tokenized and
// given to the model, or an added token already recognized (whose text is then left alone).
struct TextPiece {
  std::string text;
  TokenId token = kNoToken;
  // Whether the piece starts at byte 0 of the original input (Metaspace's prepend_scheme "first" asks).
  bool at_origin = false;

  bool is_token() const { return token != kNoToken; }
};

// A stretch [start, end) of a piece's text, matched by a pattern or not. The spans of a text cover all of it,
// in order.
struct MatchSpan {
  size_t start;
  size_t end;
  bool is_match;
};

// A non-owning reference to a callable, cheaper than std::function where pieces stream through the pipeline
// one by one; the callable must outlive it.
template <class Signature>
class FunctionRef;

template <class... Args>
class FunctionRef<void(Args...)> {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::remove_cv_t<F>, FunctionRef>>>
  FunctionRef(F& f)  // NOLINT: implicit, so that lambdas pass where a FunctionRef is expected
      : object_(&f),
        call_([](void* object, Args... args) { (*static_cast<F*>(object))(std::forward<Args>(args)...); }) {}
  void operator()(Args... args) const { call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  void (*call_)(void*, Args...);
};

using PieceSink = FunctionRef<void(TextPiece&&)>;
using SpanSink = FunctionRef<void(const MatchSpan&)>;

// What happens to the matched stretches when splitting (tokenizers' SplitDelimiterBehavior).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// Throws Error(kCorruptInput) for a name tokenizers does not know.
SplitBehavior parse_split_behavior(const std::string& name);

// Cuts one piece into parts as tokenizers' NormalizedString::split does, taking the spans one at a time (in
// order) and passing the non-empty parts on as soon as they are known.
class PieceSplitter {
 public:
  PieceSplitter(const TextPiece& piece, SplitBehavior behavior, bool invert, PieceSink sink)
      : piece_(piece), behavior_(behavior), invert_(invert), sink_(sink) {}

  void add(MatchSpan span);
  // Passes on the part still held back; call once after the last span.
  void finish();

 private:
  void emit(size_t start, size_t end);

  const TextPiece& piece_;
  SplitBehavior behavior_;
  bool invert_;
  PieceSink sink_;
  bool holding_ = false;  // a part [held_start_, held_end_) that the next span may still extend
  size_t held_start_ = 0;
  size_t held_end_ = 0;
  bool previous_match_ = false;
};

// Spans where each character satisfying `predicate` is a match of its own (tokenizers' Pattern for Fn(char)).
void for_each_character_span(std::string_view text, bool (*predicate)(char32_t), SpanSink sink);

}  // namespace torchllm::tokenizer::hf
