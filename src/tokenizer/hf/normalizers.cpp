#include "tokenizer/hf/normalizers.h"

#include <vector>

#include "tokenizer/hf/json_fields.h"
#include "tokenizer/hf/pattern.h"
#include "tokenizer/unicode_text.h"
#include "tokenizer/utf8.h"

namespace torchllm::tokenizer::hf {
namespace {

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(std::string (*form)(std::string_view)) : form_(form) {}
  void normalize(TextPiece& piece) const override { piece.text = form_(piece.text); }

 private:
  std::string (*form_)(std::string_view);
};

class Lowercase final : public Normalizer {
 public:
  void normalize(TextPiece& piece) const override { piece.text = to_lowercase(piece.text); }
};

class Prepend final : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(TextPiece& piece) const override {
    if (!piece.text.empty()) piece.text.insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

class Replace final : public Normalizer {
 public:
  Replace(Pattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void normalize(TextPiece& piece) const override {
    if (piece.text.empty()) return;
    // A match removed at the very start leaves the piece beginning after the original's first byte.
    if (piece.at_origin && content_.empty()) {
      const std::vector<MatchSpan> spans = pattern_.find_spans(piece.text);
      if (!spans.empty() && spans.front().is_match && spans.front().end > 0) piece.at_origin = false;
    }
    piece.text = pattern_.replace_all(piece.text, content_);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

class Strip final : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(TextPiece& piece) const override {
    const std::string& text = piece.text;
    size_t begin = 0, end = text.size();
    if (left_) {
      while (begin < end) {
        size_t next = begin;
        if (!is_white_space(next_code_point(text, next))) break;
        begin = next;
      }
    }
    if (right_) {
      while (end > begin) {
        size_t start;
        if (!is_white_space(previous_code_point(text, end, start))) break;
        end = start;
      }
    }
    if (begin > 0) piece.at_origin = false;
    piece.text = text.substr(begin, end - begin);
  }

 private:
  bool left_;
  bool right_;
};

class NormalizerSequence final : public Normalizer {
 public:
  explicit NormalizerSequence(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  void normalize(TextPiece& piece) const override {
    for (const auto& step : steps_) step->normalize(piece);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& config) {
  if (config.is_null()) return nullptr;
  const std::string type = component_type(config, "normalizer");
  const std::string what = "normalizer " + type;
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(to_nfc);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(to_nfkc);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(to_nfd);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(to_nfkd);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "Prepend") return std::make_unique<Prepend>(string_field(config, "prepend", "", what));
  if (type == "Replace") {
    return std::make_unique<Replace>(Pattern::from_json(required_field(config, "pattern", what), what),
                                     string_field(config, "content", "", what));
  }
  if (type == "Strip") {
    return std::make_unique<Strip>(bool_field(config, "strip_left", true, what),
                                   bool_field(config, "strip_right", true, what));
  }
  if (type == "Sequence") {
    const nlohmann::json& list = required_field(config, "normalizers", what);
    if (!list.is_array()) throw Error::corrupt(what + ": 'normalizers' must be a list");
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (const nlohmann::json& step : list) {
      if (auto normalizer = make_normalizer(step)) steps.push_back(std::move(normalizer));
    }
    return std::make_unique<NormalizerSequence>(std::move(steps));
  }
  throw Error::unsupported(
      "normalizer type '" + type +
      "' is not supported (supported: NFC, NFKC, NFD, NFKD, Prepend, Replace, Lowercase, Strip, "
      "Sequence)");
}

}  // namespace torchllm::tokenizer::hf
