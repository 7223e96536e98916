#include <nlohmann/json.hpp>

#include "tokenizer/hf/hf_tokenizer.h"
#include "tokenizer/hf/json_fields.h"

namespace torchllm::tokenizer::hf {
namespace {

std::vector<std::pair<std::string, std::string>> parse_merges(const nlohmann::json& merges) {
  if (!merges.is_array()) throw Error::corrupt("model BPE: 'merges' must be a list");
  std::vector<std::pair<std::string, std::string>> result;
  result.reserve(merges.size());
  for (const nlohmann::json& merge : merges) {
    if (merge.is_string()) {
      // The older spelling "left right"; tokens with spaces need the pair form.
      const std::string& text = merge.get_ref<const std::string&>();
      const size_t space = text.find(' ');
      if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
        throw Error::corrupt("model BPE: merge " + std::to_string(result.size() + 1) + " (\"" + text +
                             "\") is not two tokens separated by one space");
      }
      result.emplace_back(text.substr(0, space), text.substr(space + 1));
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
      result.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    } else {
      throw Error::corrupt("model BPE: merge " + std::to_string(result.size() + 1) + " is " + merge.dump() +
                           ", expected \"a b\" or [\"a\", \"b\"]");
    }
  }
  return result;
}

std::unique_ptr<BpeModel> make_model(const nlohmann::json& model) {
  if (!model.is_object()) throw Error::corrupt("'model' must be an object");
  // Files written before models were tagged leave "type" out; vocab + merges means BPE.
  const std::string type = model.contains("type")     ? string_field(model, "type", "", "model")
                           : model.contains("merges") ? "BPE"
                                                      : "";
  if (type != "BPE") {
    throw Error::unsupported("model type '" + (type.empty() ? std::string("(untagged)") : type) +
                             "' is not supported (supported: BPE)");
  }
  const std::string what = "model BPE";
  if (model.contains("dropout") && !model["dropout"].is_null()) {
    if (!model["dropout"].is_number()) throw Error::corrupt(what + ": 'dropout' must be a number");
    if (model["dropout"].get<double>() != 0.0) {
      throw Error::unsupported(
          what + ": dropout " + model["dropout"].dump() +
          " is not supported (it makes encoding random; inference tokenizers have none)");
    }
  }
  const nlohmann::json& vocab_json = required_field(model, "vocab", what);
  if (!vocab_json.is_object()) throw Error::corrupt(what + ": 'vocab' must be an object of token -> id");
  TokenTable vocab;
  for (const auto& [token, id] : vocab_json.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      throw Error::corrupt(what + ": the id of '" + token + "' is " + id.dump() + ", not a token id");
    }
    vocab.insert(token, static_cast<TokenId>(id.get<int64_t>()));
  }
  BpeOptions options;
  if (model.contains("unk_token") && model["unk_token"].is_string()) {
    options.unk_token = model["unk_token"].get<std::string>();
  }
  options.continuing_subword_prefix = string_field(model, "continuing_subword_prefix", "", what);
  options.end_of_word_suffix = string_field(model, "end_of_word_suffix", "", what);
  options.fuse_unk = bool_field(model, "fuse_unk", false, what);
  options.byte_fallback = bool_field(model, "byte_fallback", false, what);
  options.ignore_merges = bool_field(model, "ignore_merges", false, what);
  return std::make_unique<BpeModel>(std::move(vocab), parse_merges(required_field(model, "merges", what)),
                                    std::move(options));
}

std::vector<AddedToken> parse_added_tokens(const nlohmann::json& list) {
  std::vector<AddedToken> tokens;
  if (list.is_null()) return tokens;
  if (!list.is_array()) throw Error::corrupt("'added_tokens' must be a list");
  for (const nlohmann::json& entry : list) {
    const std::string what = "added token " + entry.dump();
    AddedToken token;
    const nlohmann::json& id = required_field(entry, "id", what);
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      throw Error::corrupt(what + ": 'id' is not a token id");
    }
    token.id = static_cast<TokenId>(id.get<int64_t>());
    token.content = string_field(entry, "content", "", what);
    token.special = bool_field(entry, "special", false, what);
    token.single_word = bool_field(entry, "single_word", false, what);
    token.lstrip = bool_field(entry, "lstrip", false, what);
    token.rstrip = bool_field(entry, "rstrip", false, what);
    token.normalized = bool_field(entry, "normalized", !token.special, what);
    tokens.push_back(std::move(token));
  }
  return tokens;
}

}  // namespace

std::unique_ptr<HfTokenizer> make_hf_tokenizer(const nlohmann::json& root) {
  if (!root.is_object()) throw Error::corrupt("a tokenizer.json must hold a JSON object");
  Pipeline pipeline;
  pipeline.model = make_model(required_field(root, "model", "tokenizer.json"));
  auto component = [&](const char* key) -> const nlohmann::json& {
    static const nlohmann::json null_json;
    return root.contains(key) ? root[key] : null_json;
  };
  pipeline.normalizer = make_normalizer(component("normalizer"));
  pipeline.pre_tokenizer = make_pre_tokenizer(component("pre_tokenizer"));
  pipeline.post_processor = make_post_processor(component("post_processor"));
  pipeline.decoder = make_decoder(component("decoder"));
  pipeline.added_tokens = parse_added_tokens(component("added_tokens"));
  // truncation and padding shape batches for training; a single encode for inference does not use them.
  return std::make_unique<HfTokenizer>(std::move(pipeline));
}

}  // namespace torchllm::tokenizer::hf
