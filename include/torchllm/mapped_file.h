#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace torchllm {

// A whole file memory-mapped read-only. Throws Error: not found, not a regular file, cannot map.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace torchllm
