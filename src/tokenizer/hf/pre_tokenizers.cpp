#include "tokenizer/hf/pre_tokenizers.h"

#include "tokenizer/hf/byte_level_alphabet.h"
#include "tokenizer/hf/json_fields.h"
#include "tokenizer/hf/pattern.h"
#include "tokenizer/unicode_text.h"
#include "tokenizer/utf8.h"

namespace torchllm::tokenizer::hf {
namespace {

// GPT-2's word regex, which ByteLevel uses when use_regex is true.
constexpr const char* kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

void split_with(const Pattern& pattern, const TextPiece& piece, SplitBehavior behavior, bool invert,
                PieceSink sink) {
  PieceSplitter splitter(piece, behavior, invert, sink);
  auto add = [&](const MatchSpan& span) { splitter.add(span); };
  pattern.for_each_span(piece.text, add);
  splitter.finish();
}

class Split final : public PreTokenizer {
 public:
  Split(Pattern pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}

  void pre_tokenize(TextPiece&& piece, PieceSink sink) const override {
    split_with(pattern_, piece, behavior_, invert_, sink);
  }

 private:
  Pattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

class ByteLevel final : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space),
        words_(use_regex ? Pattern::regex(kGpt2Regex) : Pattern::literal("")),
        use_regex_(use_regex) {}

  void pre_tokenize(TextPiece&& piece, PieceSink sink) const override {
    if (add_prefix_space_ && !piece.text.empty() && piece.text[0] != ' ') piece.text.insert(0, 1, ' ');
    auto map_bytes = [&](TextPiece&& word) {
      thread_local std::string mapped;
      mapped.clear();
      append_byte_level(mapped, word.text);
      word.text.assign(mapped);  // reuses the word's own storage when it is large enough
      if (mapped.capacity() > (size_t{1} << 20)) std::string().swap(mapped);  // not kept per thread
      sink(std::move(word));
    };
    if (use_regex_) {
      split_with(words_, piece, SplitBehavior::kIsolated, false, map_bytes);
    } else {
      map_bytes(std::move(piece));
    }
  }

 private:
  bool add_prefix_space_;
  Pattern words_;
  bool use_regex_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

class Metaspace final : public PreTokenizer {
 public:
  Metaspace(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}

  void pre_tokenize(TextPiece&& piece, PieceSink sink) const override {
    std::string text;
    text.reserve(piece.text.size() + replacement_.size());
    for (char c : piece.text) {
      if (c == ' ') {
        text += replacement_;
      } else {
        text += c;
      }
    }
    const bool starts_with_replacement = text.compare(0, replacement_.size(), replacement_) == 0;
    const bool prepend =
        !text.empty() && !starts_with_replacement &&
        (scheme_ == PrependScheme::kAlways || (scheme_ == PrependScheme::kFirst && piece.at_origin));
    if (prepend) text.insert(0, replacement_);
    piece.text = std::move(text);
    if (!split_) {
      sink(std::move(piece));
      return;
    }
    split_with(Pattern::literal(replacement_), piece, SplitBehavior::kMergedWithNext, false, sink);
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
};

class CharacterSplit final : public PreTokenizer {
 public:
  CharacterSplit(bool (*predicate)(char32_t), SplitBehavior behavior)
      : predicate_(predicate), behavior_(behavior) {}

  void pre_tokenize(TextPiece&& piece, PieceSink sink) const override {
    PieceSplitter splitter(piece, behavior_, false, sink);
    auto add = [&](const MatchSpan& span) { splitter.add(span); };
    for_each_character_span(piece.text, predicate_, add);
    splitter.finish();
  }

 private:
  bool (*predicate_)(char32_t);
  SplitBehavior behavior_;
};

class PreTokenizerSequence final : public PreTokenizer {
 public:
  explicit PreTokenizerSequence(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}
  void pre_tokenize(TextPiece&& piece, PieceSink sink) const override { run(0, std::move(piece), sink); }

 private:
  void run(size_t step, TextPiece&& piece, PieceSink sink) const {
    if (step == steps_.size()) {
      sink(std::move(piece));
      return;
    }
    auto next = [&](TextPiece&& part) { run(step + 1, std::move(part), sink); };
    steps_[step]->pre_tokenize(std::move(piece), next);
  }

  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

PrependScheme prepend_scheme(const nlohmann::json& config, const std::string& what) {
  if (config.contains("prepend_scheme") && !config["prepend_scheme"].is_null()) {
    const std::string scheme = string_field(config, "prepend_scheme", "always", what);
    if (scheme == "always") return PrependScheme::kAlways;
    if (scheme == "first") return PrependScheme::kFirst;
    if (scheme == "never") return PrependScheme::kNever;
    throw Error::corrupt(what + ": unknown prepend_scheme '" + scheme +
                         "' (expected always, first or never)");
  }
  // Files written before prepend_scheme existed say add_prefix_space instead.
  return bool_field(config, "add_prefix_space", true, what) ? PrependScheme::kAlways : PrependScheme::kNever;
}

}  // namespace

std::vector<TextPiece> PreTokenizer::pre_tokenize_all(std::vector<TextPiece> pieces) const {
  std::vector<TextPiece> result;
  auto keep = [&](TextPiece&& piece) { result.push_back(std::move(piece)); };
  for (TextPiece& piece : pieces) {
    if (piece.is_token()) {
      result.push_back(std::move(piece));
    } else {
      pre_tokenize(std::move(piece), keep);
    }
  }
  return result;
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& config) {
  if (config.is_null()) return nullptr;
  const std::string type = component_type(config, "pre_tokenizer");
  const std::string what = "pre_tokenizer " + type;
  if (type == "Split") {
    return std::make_unique<Split>(Pattern::from_json(required_field(config, "pattern", what), what),
                                   parse_split_behavior(string_field(config, "behavior", "Isolated", what)),
                                   bool_field(config, "invert", false, what));
  }
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevel>(bool_field(config, "add_prefix_space", true, what),
                                       bool_field(config, "use_regex", true, what));
  }
  if (type == "Metaspace") {
    const std::string replacement = string_field(config, "replacement", "\xE2\x96\x81", what);
    return std::make_unique<Metaspace>(replacement, prepend_scheme(config, what),
                                       bool_field(config, "split", true, what));
  }
  if (type == "Digits") {
    const bool individual = bool_field(config, "individual_digits", false, what);
    return std::make_unique<CharacterSplit>(
        is_numeric, individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous);
  }
  if (type == "Punctuation") {
    return std::make_unique<CharacterSplit>(
        is_punctuation, parse_split_behavior(string_field(config, "behavior", "Isolated", what)));
  }
  if (type == "Whitespace") {
    return std::make_unique<Split>(Pattern::regex(R"(\w+|[^\w\s]+)"), SplitBehavior::kRemoved, true);
  }
  if (type == "WhitespaceSplit")
    return std::make_unique<CharacterSplit>(is_white_space, SplitBehavior::kRemoved);
  if (type == "CharDelimiterSplit") {
    const std::string delimiter = string_field(config, "delimiter", "", what);
    if (delimiter.empty()) throw Error::corrupt(what + ": 'delimiter' must be one character");
    return std::make_unique<Split>(Pattern::literal(delimiter), SplitBehavior::kRemoved, false);
  }
  if (type == "Sequence") {
    const nlohmann::json& list = required_field(config, "pretokenizers", what);
    if (!list.is_array()) throw Error::corrupt(what + ": 'pretokenizers' must be a list");
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (const nlohmann::json& step : list) {
      if (auto pre_tokenizer = make_pre_tokenizer(step)) steps.push_back(std::move(pre_tokenizer));
    }
    return std::make_unique<PreTokenizerSequence>(std::move(steps));
  }
  throw Error::unsupported("pre_tokenizer type '" + type +
                           "' is not supported (supported: Split, ByteLevel, Metaspace, Digits, Punctuation, "
                           "Whitespace, WhitespaceSplit, CharDelimiterSplit, Sequence)");
}

}  // namespace torchllm::tokenizer::hf
