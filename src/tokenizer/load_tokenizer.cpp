#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tokenizer/hf/hf_tokenizer.h"
#include "tokenizer/special_token_roles.h"
#include "torchllm/error.h"
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

Error sentencepiece_unsupported(const std::string& path) {
  return Error::unsupported(
      path +
      ": SentencePiece tokenizer.model files are not supported yet; this needs the model's "
      "tokenizer.json (the \"fast\" tokenizer, e.g. written by transformers' "
      "AutoTokenizer.from_pretrained(dir).save_pretrained(dir))");
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  if (!exists(path)) {
    throw Error::not_found(path +
                           ": no such file or directory (expected a model directory or a tokenizer.json)");
  }
  std::string json_path = path;
  if (is_directory(path)) {
    json_path = path + "/tokenizer.json";
    if (!file_exists(json_path)) {
      if (file_exists(path + "/tokenizer.model")) throw sentencepiece_unsupported(path + "/tokenizer.model");
      throw Error::not_found(path + ": no tokenizer.json in this directory");
    }
  } else if (ends_with(path, ".model")) {
    throw sentencepiece_unsupported(path);
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
