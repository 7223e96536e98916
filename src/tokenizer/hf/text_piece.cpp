#include "tokenizer/hf/text_piece.h"

#include "tokenizer/utf8.h"
#include "torchllm/error.h"

namespace torchllm::tokenizer::hf {

SplitBehavior parse_split_behavior(const std::string& name) {
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  throw Error::corrupt("unknown split behavior '" + name +
                       "' (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)");
}

void PieceSplitter::emit(size_t start, size_t end) {
  if (start == end) return;
  TextPiece part;
  part.text.assign(piece_.text, start, end - start);
  part.at_origin = piece_.at_origin && start == 0;
  sink_(std::move(part));
}

// The rules are those of tokenizers' NormalizedString::split, read front to back: a match merges into the
// part before it when that part was no match (MergedWithPrevious), into the part after it when that one is no
// match (MergedWithNext), and neighbouring spans of the same kind merge (Contiguous).
void PieceSplitter::add(MatchSpan span) {
  if (invert_) span.is_match = !span.is_match;
  switch (behavior_) {
    case SplitBehavior::kIsolated:
      emit(span.start, span.end);
      break;
    case SplitBehavior::kRemoved:
      if (!span.is_match) emit(span.start, span.end);
      break;
    case SplitBehavior::kContiguous:
      if (holding_ && span.is_match == previous_match_) {
        held_end_ = span.end;
      } else {
        if (holding_) emit(held_start_, held_end_);
        holding_ = true;
        held_start_ = span.start;
        held_end_ = span.end;
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
      if (holding_ && span.is_match && !previous_match_) {
        held_end_ = span.end;
      } else {
        if (holding_) emit(held_start_, held_end_);
        holding_ = true;
        held_start_ = span.start;
        held_end_ = span.end;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      if (holding_ && previous_match_ && !span.is_match) {
        emit(held_start_, span.end);
        holding_ = false;
      } else {
        if (holding_) emit(held_start_, held_end_);
        holding_ = span.is_match;
        if (span.is_match) {
          held_start_ = span.start;
          held_end_ = span.end;
        } else {
          emit(span.start, span.end);
        }
      }
      break;
  }
  previous_match_ = span.is_match;
}

void PieceSplitter::finish() {
  if (holding_) emit(held_start_, held_end_);
  holding_ = false;
}

void for_each_character_span(std::string_view text, bool (*predicate)(char32_t), SpanSink sink) {
  size_t unmatched_start = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    const char32_t c = next_code_point(text, pos);
    if (predicate(c)) {
      if (unmatched_start < start) sink(MatchSpan{unmatched_start, start, false});
      sink(MatchSpan{start, pos, true});
      unmatched_start = pos;
    }
  }
  if (unmatched_start < text.size()) sink(MatchSpan{unmatched_start, text.size(), false});
}

}  // namespace torchllm::tokenizer::hf
