#pragma once

// Reader (memory-mapped) and writer for the safetensors format: an 8-byte little-endian header length, a JSON
// header mapping tensor names to {dtype, shape, data_offsets}, then the raw bytes.

#include <ATen/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace torchllm {

class MappedFile;

enum class StorageDtype { kF32, kF16, kBF16 };

const char* storage_dtype_name(StorageDtype dtype);
size_t storage_dtype_size(StorageDtype dtype);

struct TensorEntry {
  std::string name;
  StorageDtype dtype = StorageDtype::kF32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to the start of the data section
  uint64_t end = 0;

  int64_t numel() const;
};

struct SafetensorsHeader {
  std::vector<TensorEntry> tensors;  // in file order of their data
  std::map<std::string, std::string> metadata;
  uint64_t data_offset = 0;  // where the data section starts in the file
};

// Parses and validates a whole file image (header + data). Throws Error(kCorruptInput / kUnsupported) naming
// `where` for anything inconsistent: short file, header length past the end, bad JSON, unknown dtype, shape
// and byte-size mismatch, out-of-range or overlapping offsets.
SafetensorsHeader parse_safetensors(const uint8_t* bytes, size_t size, const std::string& where);

// A read-only memory map of one .safetensors file with its validated header.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const SafetensorsHeader& header() const { return header_; }
  const uint8_t* data(const TensorEntry& entry) const;

  // A CPU tensor viewing the mapped bytes (no copy); valid while this file is open.
  at::Tensor view(const TensorEntry& entry) const;
  // Tells the kernel the tensor's pages are no longer needed, so loading does not keep the file resident.
  void release(const TensorEntry& entry) const;

 private:
  std::string path_;
  std::unique_ptr<MappedFile> file_;
  SafetensorsHeader header_;
};

// Writes tensors (any device; stored as F32/F16/BF16) in the order given.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace torchllm
