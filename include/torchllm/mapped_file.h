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
  // Drops the whole pages of [begin, begin + bytes) (inside the map) from this process's resident set, where
  // a copy of those bytes is kept elsewhere. The map is private and read-only, so its pages are never dirty:
  // a later read faults them back in from the file.
  void release(const uint8_t* begin, size_t bytes) const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace torchllm
