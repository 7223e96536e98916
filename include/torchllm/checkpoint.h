#pragma once

// The weights of a Hugging Face model directory: model.safetensors, or shards listed in
// model.safetensors.index.json. Tensors are read from memory maps straight into their destination.

#include <ATen/Tensor.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "torchllm/safetensors.h"

namespace torchllm {

class Checkpoint {
 public:
  explicit Checkpoint(const std::string& model_dir);

  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  const TensorEntry& entry(const std::string& name) const;
  std::vector<std::string> names() const;
  const std::vector<std::string>& files() const { return file_paths_; }
  uint64_t total_bytes() const;

  // Copies the named tensor into `dst` (any device/dtype, shape must match), then drops the file pages.
  void load_into(const std::string& name, at::Tensor dst) const;

 private:
  struct Location {
    size_t file;
    const TensorEntry* entry;
  };
  std::vector<std::string> file_paths_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, Location> index_;
};

}  // namespace torchllm
