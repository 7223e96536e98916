#pragma once

// A GGUF model as one or more files: a single .gguf, or the parts of a split set (llama.cpp's gguf-split:
// NAME-00001-of-0000N.gguf, each with split.no / split.count, the metadata in the first part). Tensors are
// looked up across all parts.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "torchllm/gguf.h"

namespace torchllm {

// True when `path` is a file whose first bytes are "GGUF", or whose name ends in .gguf.
bool is_gguf_path(const std::string& path);

// True when a model path names a GGUF model rather than a Hugging Face directory: a GGUF file, or a
// directory without config.json that holds .gguf files.
bool names_gguf_model(const std::string& path);

// The .gguf file a model path names: the file itself, the only .gguf in a directory (or the first part of
// the only split set there). Throws Error(kNotFound / kInvalidArgument) naming what was found instead.
std::string resolve_gguf_path(const std::string& path);

// The id of a special token ("bos", "eos", "unk", "pad", "eot", "eom") as llama.cpp's vocabulary reads it:
// tokenizer.ggml.<role>_token_id, else llama.cpp's default for the tokenizer model (llama: BOS 1, EOS 2,
// UNK 0; gpt2: BOS and EOS 11); nullopt when there is none or the id is outside the `vocab_size` tokens.
std::optional<int64_t> gguf_special_token_id(const GgufMetadata& metadata, const std::string& role,
                                             size_t vocab_size);

class GgufModelFiles {
 public:
  // `path` is a .gguf file; the first part of a split set brings the others (they must sit beside it).
  explicit GgufModelFiles(const std::string& path);
  ~GgufModelFiles();

  const std::string& path() const { return path_; }
  const GgufFile& first() const { return *parts_.front(); }
  const GgufMetadata& metadata() const { return first().metadata(); }
  const std::vector<std::unique_ptr<GgufFile>>& parts() const { return parts_; }

  // Every tensor of every part, by name.
  const std::map<std::string, const GgufTensorInfo*>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;  // nullptr when absent
  const uint8_t* data(const GgufTensorInfo& tensor) const;
  // Drops the tensor's whole pages from this process's resident set (a copy of it is kept elsewhere); the
  // mapping stays valid: a later read faults them back in from the file.
  void release(const GgufTensorInfo& tensor) const;
  uint64_t total_tensor_bytes() const;

 private:
  std::string path_;
  std::vector<std::unique_ptr<GgufFile>> parts_;
  std::map<std::string, const GgufTensorInfo*> tensors_;
  std::map<const GgufTensorInfo*, const GgufFile*> owner_;
};

}  // namespace torchllm
