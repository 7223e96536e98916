#include "tokenizer/hf/post_processors.h"

#include <string>
#include <unordered_map>

#include "tokenizer/hf/json_fields.h"

namespace torchllm::tokenizer::hf {
namespace {

class ByteLevelProcessor final : public PostProcessor {
 public:
  void process(std::vector<TokenId>&, bool) const override {}
};

// The "single" template: pieces that are either the sequence ($A) or a special token (one or more ids).
class TemplateProcessing final : public PostProcessor {
 public:
  struct Piece {
    bool is_sequence;
    std::vector<TokenId> ids;  // for a special token
  };
  explicit TemplateProcessing(std::vector<Piece> single) : single_(std::move(single)) {}

  void process(std::vector<TokenId>& ids, bool add_special_tokens) const override {
    std::vector<TokenId> result;
    result.reserve(ids.size() + 4);
    for (const Piece& piece : single_) {
      if (piece.is_sequence) {
        result.insert(result.end(), ids.begin(), ids.end());
      } else if (add_special_tokens) {
        result.insert(result.end(), piece.ids.begin(), piece.ids.end());
      }
    }
    ids = std::move(result);
  }

 private:
  std::vector<Piece> single_;
};

class ProcessorSequence final : public PostProcessor {
 public:
  explicit ProcessorSequence(std::vector<std::unique_ptr<PostProcessor>> steps) : steps_(std::move(steps)) {}
  void process(std::vector<TokenId>& ids, bool add_special_tokens) const override {
    for (const auto& step : steps_) step->process(ids, add_special_tokens);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

std::unique_ptr<PostProcessor> make_template(const nlohmann::json& config, const std::string& what) {
  std::unordered_map<std::string, std::vector<TokenId>> special_ids;
  if (config.contains("special_tokens") && config["special_tokens"].is_object()) {
    for (const auto& [name, token] : config["special_tokens"].items()) {
      if (!token.contains("ids") || !token["ids"].is_array()) {
        throw Error::corrupt(what + ": special token '" + name + "' has no 'ids' list");
      }
      special_ids[name] = token["ids"].get<std::vector<TokenId>>();
    }
  }
  const nlohmann::json& single = required_field(config, "single", what);
  if (!single.is_array()) {
    throw Error::unsupported(what + ": only templates written as lists of pieces are supported");
  }
  std::vector<TemplateProcessing::Piece> pieces;
  for (const nlohmann::json& piece : single) {
    if (piece.contains("Sequence")) {
      const std::string id = string_field(piece["Sequence"], "id", "A", what);
      if (id != "A") throw Error::corrupt(what + ": the single template uses sequence '" + id + "'");
      pieces.push_back({true, {}});
    } else if (piece.contains("SpecialToken")) {
      const std::string id = string_field(piece["SpecialToken"], "id", "", what);
      auto it = special_ids.find(id);
      if (it == special_ids.end()) throw Error::corrupt(what + ": missing special token '" + id + "'");
      pieces.push_back({false, it->second});
    } else {
      throw Error::corrupt(what + ": template piece " + piece.dump() +
                           " is neither Sequence nor SpecialToken");
    }
  }
  return std::make_unique<TemplateProcessing>(std::move(pieces));
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& config) {
  if (config.is_null()) return nullptr;
  const std::string type = component_type(config, "post_processor");
  const std::string what = "post_processor " + type;
  if (type == "ByteLevel") return std::make_unique<ByteLevelProcessor>();
  if (type == "TemplateProcessing") return make_template(config, what);
  if (type == "Sequence") {
    const nlohmann::json& list = required_field(config, "processors", what);
    if (!list.is_array()) throw Error::corrupt(what + ": 'processors' must be a list");
    std::vector<std::unique_ptr<PostProcessor>> steps;
    for (const nlohmann::json& step : list) {
      if (auto processor = make_post_processor(step)) steps.push_back(std::move(processor));
    }
    return std::make_unique<ProcessorSequence>(std::move(steps));
  }
  throw Error::unsupported("post_processor type '" + type +
                           "' is not supported (supported: TemplateProcessing, ByteLevel, Sequence)");
}

}  // namespace torchllm::tokenizer::hf
