#include "torchllm/gguf_model_files.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>

#include "torchllm/error.h"

namespace torchllm {
namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// llama.cpp's llama_split_path: PREFIX-%05d-of-%05d.gguf
const std::regex& split_name() {
  static const std::regex re("^(.*)-([0-9]{5})-of-([0-9]{5})\\.gguf$");
  return re;
}

std::string split_part_path(const std::string& prefix, int no, int count) {
  char tail[64];
  std::snprintf(tail, sizeof tail, "-%05d-of-%05d.gguf", no, count);
  return prefix + tail;
}

int split_field(const GgufMetadata& m, const char* key, int fallback) {
  return m.find(key) ? static_cast<int>(m.get_int(key)) : fallback;
}

}  // namespace

std::optional<int64_t> gguf_special_token_id(const GgufMetadata& m, const std::string& role,
                                             size_t vocab_size) {
  const std::string key = "tokenizer.ggml." +
                          std::string(role == "unk"   ? "unknown"
                                      : role == "pad" ? "padding"
                                                      : role) +
                          "_token_id";
  int64_t id = -1;
  if (m.find(key)) {
    id = m.get_int(key);
  } else if (const GgufValue* model = m.find("tokenizer.ggml.model");
             model && model->type == GgufType::kString) {
    if (model->s == "llama") id = role == "bos" ? 1 : role == "eos" ? 2 : role == "unk" ? 0 : -1;
    if (model->s == "gpt2") id = role == "bos" || role == "eos" ? 11 : -1;
  }
  if (id < 0 || static_cast<uint64_t>(id) >= vocab_size) return std::nullopt;  // llama.cpp ignores these too
  return id;
}

bool is_gguf_path(const std::string& path) {
  char magic[4] = {};
  std::ifstream in(path, std::ios::binary);
  return (in.read(magic, sizeof magic) && std::memcmp(magic, "GGUF", 4) == 0) || ends_with(path, ".gguf");
}

bool names_gguf_model(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  if (!S_ISDIR(st.st_mode)) return is_gguf_path(path);
  if (::stat((path + "/config.json").c_str(), &st) == 0) return false;
  bool found = false;
  if (DIR* d = ::opendir(path.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.' && ends_with(e->d_name, ".gguf")) found = true;
    }
    ::closedir(d);
  }
  return found;
}

std::string resolve_gguf_path(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error::not_found(path + ": no such file or directory");
  if (!S_ISDIR(st.st_mode)) return path;
  std::vector<std::string> singles, first_parts;
  if (DIR* d = ::opendir(path.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name[0] == '.' || !ends_with(name, ".gguf")) continue;
      std::smatch m;
      if (std::regex_match(name, m, split_name())) {
        if (m[2] == "00001") first_parts.push_back(name);
      } else {
        singles.push_back(name);
      }
    }
    ::closedir(d);
  }
  std::vector<std::string> all = singles;
  all.insert(all.end(), first_parts.begin(), first_parts.end());
  std::sort(all.begin(), all.end());
  if (all.size() == 1) return path + "/" + all.front();
  if (all.empty()) throw Error::not_found(path + " holds no .gguf file");
  std::string names;
  for (size_t i = 0; i < all.size() && i < 4; ++i) names += (i ? ", " : "") + all[i];
  throw Error::not_found(path + " holds " + std::to_string(all.size()) + " GGUF models (" + names +
                         (all.size() > 4 ? ", ..." : "") + "): give one file with -m");
}

GgufModelFiles::GgufModelFiles(const std::string& path) : path_(path) {
  parts_.push_back(std::make_unique<GgufFile>(path));
  const GgufMetadata& meta = parts_.front()->metadata();
  const int count = split_field(meta, "split.count", 1);
  const int no = split_field(meta, "split.no", 0);
  if (count > 1) {
    const std::string file = path.substr(path.find_last_of('/') + 1);
    std::smatch m;
    const bool named = std::regex_match(file, m, split_name());
    if (no != 0 || !named || m[2] != "00001") {
      const std::string first =
          named ? split_part_path(m[1].str(), 1, count) : "the file named NAME-00001-of-... .gguf";
      throw Error::not_found(path + " is part " + std::to_string(no + 1) + " of a split GGUF set of " +
                             std::to_string(count) + " parts: give the first part (" + first + ")");
    }
    const std::string prefix = path.substr(0, path.size() - file.size()) + m[1].str();
    for (int i = 2; i <= count; ++i) {
      const std::string part = split_part_path(prefix, i, count);
      parts_.push_back(std::make_unique<GgufFile>(part));
      const GgufMetadata& pm = parts_.back()->metadata();
      if (split_field(pm, "split.no", -1) != i - 1 || split_field(pm, "split.count", -1) != count) {
        throw Error::corrupt(part + ": split.no / split.count do not say part " + std::to_string(i) + " of " +
                             std::to_string(count));
      }
    }
  }
  for (const auto& part : parts_) {
    for (const GgufTensorInfo& t : part->tensors()) {
      if (!tensors_.emplace(t.name, &t).second) {
        throw Error::corrupt(part->path() + ": tensor '" + t.name + "' appears in more than one part");
      }
      owner_[&t] = part.get();
    }
  }
  if (count > 1 && meta.find("split.tensors.count") &&
      meta.get_int("split.tensors.count") != static_cast<int64_t>(tensors_.size())) {
    throw Error::corrupt(path + ": split.tensors.count says " +
                         std::to_string(meta.get_int("split.tensors.count")) +
                         " tensors but the parts hold " + std::to_string(tensors_.size()));
  }
}

GgufModelFiles::~GgufModelFiles() = default;

const GgufTensorInfo* GgufModelFiles::find_tensor(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second;
}

const uint8_t* GgufModelFiles::data(const GgufTensorInfo& tensor) const {
  return owner_.at(&tensor)->data(tensor);
}

void GgufModelFiles::release(const GgufTensorInfo& tensor) const { owner_.at(&tensor)->release(tensor); }

uint64_t GgufModelFiles::total_tensor_bytes() const {
  uint64_t total = 0;
  for (const auto& item : tensors_) total += item.second->size;
  return total;
}

}  // namespace torchllm
