#include "tokenizer/hf/decoders.h"

#include "tokenizer/hf/byte_level_alphabet.h"
#include "tokenizer/hf/json_fields.h"
#include "tokenizer/hf/pattern.h"
#include "tokenizer/utf8.h"

namespace torchllm::tokenizer::hf {
namespace {

class ByteLevelDecoder final : public Decoder {
 public:
  // Characters of the byte-level alphabet become their bytes; a token with any other character (an added
  // token) keeps its UTF-8 as is. The bytes are then read as UTF-8 with replacement.
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& token : tokens) {
      const size_t before = bytes.size();
      size_t pos = 0;
      bool all_mapped = true;
      while (pos < token.size()) {
        const int b = byte_of_character(next_code_point(token, pos));
        if (b < 0) {
          all_mapped = false;
          break;
        }
        bytes.push_back(static_cast<char>(b));
      }
      if (!all_mapped) {
        bytes.resize(before);
        bytes += token;
      }
    }
    tokens.assign(1, to_valid_utf8(bytes));
  }
};

// Runs of "<0xNN>" tokens become the text of their bytes when those are valid UTF-8, else one U+FFFD per
// byte.
class ByteFallbackDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> result;
    result.reserve(tokens.size());
    std::string run;
    size_t run_length = 0;
    auto flush = [&] {
      if (run_length == 0) return;
      if (is_valid_utf8(run)) {
        result.push_back(run);
      } else {
        for (size_t i = 0; i < run_length; ++i) result.push_back(utf8_of(kReplacementCharacter));
      }
      run.clear();
      run_length = 0;
    };
    for (std::string& token : tokens) {
      const int byte = byte_value(token);
      if (byte >= 0) {
        run.push_back(static_cast<char>(byte));
        ++run_length;
        continue;
      }
      flush();
      result.push_back(std::move(token));
    }
    flush();
    tokens = std::move(result);
  }
  bool decodes_byte_runs() const override { return true; }

  static int byte_value(const std::string& token) {
    if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return -1;
    int value = 0;
    for (size_t i = 3; i < 5; ++i) {
      const char c = token[i];
      const int digit = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                               : -1;
      if (digit < 0) return -1;
      value = value * 16 + digit;
    }
    return value;
  }
};

class FuseDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string joined;
    for (const std::string& token : tokens) joined += token;
    tokens.assign(1, std::move(joined));
  }
};

// Removes up to `start` leading and `stop` trailing copies of one character from every token.
class StripDecoder final : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}

  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& token : tokens) {
      size_t begin = 0;
      for (size_t i = 0; i < start_ && token.compare(begin, content_.size(), content_) == 0; ++i) {
        begin += content_.size();
      }
      size_t end = token.size();
      for (size_t i = 0; i < stop_ && end >= begin + content_.size() &&
                         token.compare(end - content_.size(), content_.size(), content_) == 0;
           ++i) {
        end -= content_.size();
      }
      token = token.substr(begin, end - begin);
    }
  }

 private:
  std::string content_;
  size_t start_;
  size_t stop_;
};

class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(Pattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& token : tokens) token = pattern_.replace_all(token, content_);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

// The replacement character becomes a space, except in the first token when a prefix space was prepended.
class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool prepends)
      : replacement_(std::move(replacement)), prepends_(prepends) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      tokens[i] = Pattern::literal(replacement_).replace_all(tokens[i], i == 0 && prepends_ ? "" : " ");
    }
  }

 private:
  std::string replacement_;
  bool prepends_;
};

class DecoderSequence final : public Decoder {
 public:
  explicit DecoderSequence(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& step : steps_) step->decode_chain(tokens);
  }
  bool decodes_byte_runs() const override {
    for (const auto& step : steps_) {
      if (step->decodes_byte_runs()) return true;
    }
    return false;
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

size_t size_field(const nlohmann::json& config, const char* key, const std::string& what) {
  if (!config.contains(key) || config[key].is_null()) return 0;
  if (!config[key].is_number_integer() || config[key].get<int64_t>() < 0) {
    throw Error::corrupt(what + ": '" + key + "' must be a count");
  }
  return static_cast<size_t>(config[key].get<int64_t>());
}

}  // namespace

std::unique_ptr<Decoder> make_decoder(const nlohmann::json& config) {
  if (config.is_null()) return nullptr;
  const std::string type = component_type(config, "decoder");
  const std::string what = "decoder " + type;
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    return std::make_unique<StripDecoder>(string_field(config, "content", " ", what),
                                          size_field(config, "start", what),
                                          size_field(config, "stop", what));
  }
  if (type == "Replace") {
    return std::make_unique<ReplaceDecoder>(Pattern::from_json(required_field(config, "pattern", what), what),
                                            string_field(config, "content", "", what));
  }
  if (type == "Metaspace") {
    const std::string replacement = string_field(config, "replacement", "\xE2\x96\x81", what);
    bool prepends = bool_field(config, "add_prefix_space", true, what);
    if (config.contains("prepend_scheme") && config["prepend_scheme"].is_string()) {
      prepends = config["prepend_scheme"].get<std::string>() != "never";
    }
    return std::make_unique<MetaspaceDecoder>(replacement, prepends);
  }
  if (type == "Sequence") {
    const nlohmann::json& list = required_field(config, "decoders", what);
    if (!list.is_array()) throw Error::corrupt(what + ": 'decoders' must be a list");
    std::vector<std::unique_ptr<Decoder>> steps;
    for (const nlohmann::json& step : list) {
      if (auto decoder = make_decoder(step)) steps.push_back(std::move(decoder));
    }
    return std::make_unique<DecoderSequence>(std::move(steps));
  }
  throw Error::unsupported(
      "decoder type '" + type +
      "' is not supported (supported: ByteLevel, ByteFallback, Fuse, Strip, Replace, Metaspace, "
      "Sequence)");
}

}  // namespace torchllm::tokenizer::hf
