#include "torchllm/model_dir.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "torchllm/error.h"
#include "torchllm/json_file.h"

namespace torchllm {
namespace {

constexpr const char* kExpected =
    "expected a Hugging Face model directory (config.json, a tokenizer and *.safetensors) or a .gguf file";

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// GGUF files start with the magic "GGUF"; the extension catches one that cannot be read.
bool is_gguf_file(const std::string& path) {
  char magic[4] = {};
  std::ifstream in(path, std::ios::binary);
  return (in.read(magic, sizeof magic) && std::memcmp(magic, "GGUF", 4) == 0) || ends_with(path, ".gguf");
}

std::string parent_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The first *.gguf file in `dir` (in readdir order), or "".
std::string first_gguf_in(const std::string& dir) {
  std::string found;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      if (ends_with(e->d_name, ".gguf")) {
        found = e->d_name;
        break;
      }
    }
    ::closedir(d);
  }
  return found;
}

// "a, b or c"
std::string listing(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " or " : ", ";
    out += items[i];
  }
  return out;
}

[[noreturn]] void explain_directory_without_config(const std::string& dir) {
  std::vector<std::string> models = model_dirs_in(dir);
  if (!models.empty()) {
    if (models.size() > 3) models.resize(3);
    throw Error::not_found(dir + " has no config.json, but holds model directories: give one of them (" +
                           listing(models) + ")");
  }
  if (const std::string gguf = first_gguf_in(dir); !gguf.empty()) {
    throw Error::not_found(dir + " holds GGUF files (" + gguf + "): give one of them with -m, or " +
                           kExpected);
  }
  throw Error::not_found(dir + " has no config.json; " + kExpected);
}

}  // namespace

void check_model_dir(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw Error::not_found(path + ": no such file or directory; " + kExpected);
  if (S_ISDIR(st.st_mode)) {
    if (!file_exists(path + "/config.json")) explain_directory_without_config(path);
    return;
  }
  if (is_gguf_file(path)) {
    throw Error::not_found(path + " is a GGUF file, where a Hugging Face directory is needed; " + kExpected);
  }
  const std::string parent = parent_of(path);
  if (file_exists(parent + "/config.json")) {
    throw Error::not_found(path + " is a file; give the model's directory: " + parent);
  }
  throw Error::not_found(path + " is a file, not a model directory; " + kExpected);
}

std::vector<std::string> model_dirs_in(const std::string& dir) {
  std::vector<std::string> models;
  const std::string prefix = ends_with(dir, "/") ? dir : dir + "/";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string path = prefix + e->d_name;
      if (e->d_name[0] != '.' && file_exists(path + "/config.json")) models.push_back(path);
    }
    ::closedir(d);
  }
  std::sort(models.begin(), models.end());
  return models;
}

}  // namespace torchllm
