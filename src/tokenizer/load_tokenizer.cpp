#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "tokenizer/gguf_tokenizer.h"
#include "tokenizer/hf/hf_tokenizer.h"
#include "tokenizer/sentencepiece_tokenizer.h"
#include "tokenizer/special_token_roles.h"
#include "torchllm/error.h"
#include "torchllm/gguf_model_files.h"
#include "torchllm/json_file.h"
#include "torchllm/tokenizer.h"

namespace torchllm {
namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::optional<bool> config_flag(const nlohmann::json& config, const char* key) {
  if (!config.is_object() || !config.contains(key) || !config[key].is_boolean()) return std::nullopt;
  return config[key].get<bool>();
}

std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::string& model_path) {
  std::unique_ptr<tokenizer::SentencePieceTokenizer> result =
      tokenizer::SentencePieceTokenizer::load(model_path);
  const std::string directory = directory_of(model_path);
  SpecialTokenRoles roles = tokenizer::read_special_token_roles(directory, *result);
  const std::string config_path = directory + "/tokenizer_config.json";
  const nlohmann::json config = file_exists(config_path) ? read_json_file(config_path) : nlohmann::json();
  result->set_special_tokens(std::move(roles), config_flag(config, "add_bos_token"),
                             config_flag(config, "add_eos_token").value_or(false));
  return result;
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  if (!exists(path)) {
    throw Error::not_found(path +
                           ": no such file or directory (expected a model directory or a tokenizer.json)");
  }
  if (names_gguf_model(path)) return tokenizer::load_gguf_tokenizer(resolve_gguf_path(path));
  std::string json_path = path;
  if (is_directory(path)) {
    json_path = path + "/tokenizer.json";
    if (!file_exists(json_path)) {
      if (file_exists(path + "/tokenizer.model")) {
        return load_sentencepiece_tokenizer(path + "/tokenizer.model");
      }
      throw Error::not_found(path + ": no tokenizer.json or tokenizer.model in this directory");
    }
  } else if (ends_with(path, ".model")) {
    return load_sentencepiece_tokenizer(path);
  }
  const nlohmann::json root = read_json_file(json_path);
  std::unique_ptr<tokenizer::hf::HfTokenizer> result;
  try {
    result = tokenizer::hf::make_hf_tokenizer(root);
  } catch (const Error& e) {
    throw Error(e.kind(), json_path + ": " + e.what());
  }
  result->set_special_tokens(tokenizer::read_special_token_roles(directory_of(json_path), *result));
  return result;
}

}  // namespace torchllm
