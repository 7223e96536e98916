#include "tokenizer/special_token_roles.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "torchllm/json_file.h"

namespace torchllm {

bool SpecialTokenRoles::is_eos(TokenId id) const {
  return std::find(eos.begin(), eos.end(), id) != eos.end();
}

namespace tokenizer {
namespace {

nlohmann::json read_if_present(const std::string& directory, const char* name) {
  const std::string path = directory + "/" + name;
  return file_exists(path) ? read_json_file(path) : nlohmann::json();
}

// tokenizer_config.json names a token either as a string or as {"__type": "AddedToken", "content": ...}.
std::optional<TokenId> named_token(const nlohmann::json& config, const char* key,
                                   const Tokenizer& tokenizer) {
  if (!config.is_object() || !config.contains(key)) return std::nullopt;
  const nlohmann::json& value = config[key];
  if (value.is_string()) return tokenizer.token_to_id(value.get<std::string>());
  if (value.is_object() && value.contains("content") && value["content"].is_string()) {
    return tokenizer.token_to_id(value["content"].get<std::string>());
  }
  return std::nullopt;
}

// generation_config.json and config.json give an id or a list of ids.
std::vector<TokenId> ids_of(const nlohmann::json& config, const char* key) {
  std::vector<TokenId> ids;
  if (!config.is_object() || !config.contains(key)) return ids;
  const nlohmann::json& value = config[key];
  if (value.is_number_integer()) ids.push_back(value.get<TokenId>());
  if (value.is_array()) {
    for (const nlohmann::json& id : value) {
      if (id.is_number_integer()) ids.push_back(id.get<TokenId>());
    }
  }
  return ids;
}

std::optional<TokenId> first_of(std::initializer_list<std::optional<TokenId>> candidates) {
  for (const auto& candidate : candidates) {
    if (candidate) return candidate;
  }
  return std::nullopt;
}

std::optional<TokenId> first_id(const nlohmann::json& config, const char* key) {
  std::vector<TokenId> ids = ids_of(config, key);
  if (ids.empty()) return std::nullopt;
  return ids.front();
}

}  // namespace

SpecialTokenRoles read_special_token_roles(const std::string& directory, const Tokenizer& tokenizer) {
  const nlohmann::json tokenizer_config = read_if_present(directory, "tokenizer_config.json");
  const nlohmann::json generation_config = read_if_present(directory, "generation_config.json");
  const nlohmann::json model_config = read_if_present(directory, "config.json");

  SpecialTokenRoles roles;
  roles.bos = first_of({named_token(tokenizer_config, "bos_token", tokenizer),
                        first_id(generation_config, "bos_token_id"), first_id(model_config, "bos_token_id")});
  roles.pad = first_of({named_token(tokenizer_config, "pad_token", tokenizer),
                        first_id(generation_config, "pad_token_id"), first_id(model_config, "pad_token_id")});
  roles.unk = named_token(tokenizer_config, "unk_token", tokenizer);

  auto add_eos = [&](TokenId id) {
    if (!roles.is_eos(id)) roles.eos.push_back(id);
  };
  if (auto id = named_token(tokenizer_config, "eos_token", tokenizer)) add_eos(*id);
  for (TokenId id : ids_of(generation_config, "eos_token_id")) add_eos(id);
  for (TokenId id : ids_of(model_config, "eos_token_id")) add_eos(id);

  if (tokenizer_config.is_object() && tokenizer_config.contains("add_bos_token") &&
      tokenizer_config["add_bos_token"].is_boolean()) {
    roles.add_bos = tokenizer_config["add_bos_token"].get<bool>();
  } else if (roles.bos) {
    const std::vector<TokenId> empty = tokenizer.encode("");
    roles.add_bos = !empty.empty() && empty.front() == *roles.bos;
  }
  return roles;
}

}  // namespace tokenizer
}  // namespace torchllm
