#include "torchllm/checkpoint.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "torchllm/error.h"
#include "torchllm/json_file.h"

namespace torchllm {
namespace {

// Shard names come from a JSON file: refuse anything that could point outside the model directory.
void check_shard_name(const std::string& shard, const std::string& index_path) {
  if (shard.empty() || shard.find('/') != std::string::npos || shard.find('\\') != std::string::npos ||
      shard == "." || shard == "..") {
    throw Error::corrupt(index_path + ": weight_map names an invalid shard file '" + shard + "'");
  }
}

}  // namespace

Checkpoint::Checkpoint(const std::string& model_dir) {
  const std::string single = model_dir + "/model.safetensors";
  const std::string index_path = model_dir + "/model.safetensors.index.json";
  std::map<std::string, std::string> expected_file;  // tensor -> shard, from the index
  if (file_exists(single)) {
    file_paths_.push_back(single);
  } else if (file_exists(index_path)) {
    nlohmann::json index = read_json_file(index_path);
    auto map = index.find("weight_map");
    if (!index.is_object() || map == index.end() || !map->is_object()) {
      throw Error::corrupt(index_path + ": missing the 'weight_map' object");
    }
    for (const auto& item : map->items()) {
      if (!item.value().is_string())
        throw Error::corrupt(index_path + ": weight_map values must be file names");
      const std::string shard = item.value().get<std::string>();
      check_shard_name(shard, index_path);
      expected_file[item.key()] = shard;
      const std::string path = model_dir + "/" + shard;
      if (std::find(file_paths_.begin(), file_paths_.end(), path) == file_paths_.end())
        file_paths_.push_back(path);
    }
    if (file_paths_.empty()) throw Error::corrupt(index_path + ": weight_map is empty");
  } else {
    throw Error::not_found(model_dir +
                           ": no model.safetensors or model.safetensors.index.json (torchllm reads "
                           "Hugging Face safetensors checkpoints)");
  }

  for (size_t f = 0; f < file_paths_.size(); ++f) {
    files_.push_back(std::make_unique<SafetensorsFile>(file_paths_[f]));
    const std::string shard = file_paths_[f].substr(model_dir.size() + 1);
    for (const TensorEntry& entry : files_.back()->header().tensors) {
      if (!index_.emplace(entry.name, Location{f, &entry}).second) {
        throw Error::corrupt(file_paths_[f] + ": tensor '" + entry.name + "' appears in more than one shard");
      }
      if (!expected_file.empty()) {
        auto it = expected_file.find(entry.name);
        if (it == expected_file.end() || it->second != shard) {
          throw Error::corrupt(file_paths_[f] + ": tensor '" + entry.name +
                               "' is not listed for this shard in " + index_path);
        }
      }
    }
  }
  for (const auto& [name, shard] : expected_file) {
    if (!index_.count(name)) {
      throw Error::corrupt(index_path + ": tensor '" + name + "' is listed in " + shard +
                           " but not stored there");
    }
  }
}

const TensorEntry& Checkpoint::entry(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw Error::corrupt("checkpoint is missing tensor '" + name + "'");
  return *it->second.entry;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  for (const auto& item : index_) out.push_back(item.first);
  return out;
}

uint64_t Checkpoint::total_bytes() const {
  uint64_t total = 0;
  for (const auto& item : index_) total += item.second.entry->end - item.second.entry->begin;
  return total;
}

void Checkpoint::load_into(const std::string& name, at::Tensor dst) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw Error::corrupt("checkpoint is missing tensor '" + name + "'");
  const SafetensorsFile& file = *files_[it->second.file];
  const TensorEntry& entry = *it->second.entry;
  if (dst.sizes().vec() != entry.shape) {
    throw Error::corrupt(file.path() + ": tensor '" + name + "' has shape " +
                         c10::str(at::IntArrayRef(entry.shape)) + ", expected " + c10::str(dst.sizes()));
  }
  dst.copy_(file.view(entry));
  file.release(entry);
}

}  // namespace torchllm
