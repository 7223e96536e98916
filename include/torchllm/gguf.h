#pragma once

// Reader (memory-mapped) for GGUF v2/v3 files: a little-endian header ("GGUF", version, tensor count,
// key/value count), typed metadata, tensor infos (name, dims, ggml type, offset), then the aligned tensor
// data section.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace torchllm {

class MappedFile;

// The metadata value types, with the ids the format stores.
enum class GgufType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

// "uint8", "int8", ..., "string", "array" — the names gguf-py uses.
const char* gguf_type_name(GgufType type);

struct GgufValue {
  GgufType type = GgufType::kU8;
  uint64_t u = 0;                         // u8, u16, u32, u64, bool
  int64_t i = 0;                          // i8, i16, i32, i64
  double f = 0;                           // f32, f64
  std::string s;                          // string
  GgufType element_type = GgufType::kU8;  // array: the type of every item
  std::vector<GgufValue> items;           // array
};

struct GgufKeyValue {
  std::string key;
  GgufValue value;
};

// Metadata in file order, with typed look-ups that throw Error naming the key and the expected type.
class GgufMetadata {
 public:
  std::vector<GgufKeyValue> entries;

  const GgufValue* find(const std::string& key) const;  // nullptr when absent
  const GgufValue& at(const std::string& key) const;    // Error(kNotFound) when absent
  uint8_t get_u8(const std::string& key) const;
  int8_t get_i8(const std::string& key) const;
  uint16_t get_u16(const std::string& key) const;
  int16_t get_i16(const std::string& key) const;
  uint32_t get_u32(const std::string& key) const;
  int32_t get_i32(const std::string& key) const;
  uint64_t get_u64(const std::string& key) const;
  int64_t get_i64(const std::string& key) const;
  float get_f32(const std::string& key) const;
  double get_f64(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  const std::string& get_string(const std::string& key) const;
  // Any integer type (writers differ: u32, i32, u64), or any number.
  int64_t get_int(const std::string& key) const;
  double get_number(const std::string& key) const;
  // An array whose items all have `element_type`.
  const std::vector<GgufValue>& get_array(const std::string& key, GgufType element_type) const;
  std::vector<std::string> get_string_array(const std::string& key) const;
};

// One ggml tensor type as ggml.c's type_traits defines it: `block_size` elements take `type_size` bytes.
struct GgmlTypeTraits {
  uint32_t id;
  const char* name;  // ggml's name: "f32", "q4_K", ...
  uint32_t block_size;
  uint32_t type_size;
};

const std::vector<GgmlTypeTraits>& ggml_types();
const GgmlTypeTraits* find_ggml_type(uint32_t id);  // nullptr for ids ggml does not define (or removed)

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // GGUF order: dims[0] is the innermost (contiguous) one
  const GgmlTypeTraits* type = nullptr;
  uint64_t offset = 0;  // relative to the start of the data section
  uint64_t size = 0;    // bytes

  int64_t numel() const;
};

struct GgufHeader {
  uint32_t version = 0;
  uint64_t alignment = 32;
  GgufMetadata metadata;
  std::vector<GgufTensorInfo> tensors;  // in file order
  uint64_t data_offset = 0;             // where the data section starts in the file
};

// Parses and validates a whole file image. Throws Error(kCorruptInput / kUnsupported) naming `where` for
// anything malformed: bad magic, version other than 2 or 3, truncation, lengths or counts past the end,
// unknown value or tensor types, bad alignment, dims that overflow, misaligned, out-of-range or overlapping
// tensors, duplicate keys or tensor names.
GgufHeader parse_gguf(const uint8_t* bytes, size_t size, const std::string& where);

// A read-only memory map of one .gguf file with its validated header.
class GgufFile {
 public:
  explicit GgufFile(const std::string& path);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::string& path() const;
  size_t file_size() const;
  uint32_t version() const { return header_.version; }
  uint64_t alignment() const { return header_.alignment; }
  const GgufMetadata& metadata() const { return header_.metadata; }
  const std::vector<GgufTensorInfo>& tensors() const { return header_.tensors; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;  // nullptr when absent
  uint64_t data_offset() const { return header_.data_offset; }
  // The tensor's first byte in the map; `size` bytes from there lie inside the file.
  const uint8_t* data(const GgufTensorInfo& tensor) const;
  // Drops the tensor's whole pages from the resident set (MappedFile::release).
  void release(const GgufTensorInfo& tensor) const;

 private:
  std::unique_ptr<MappedFile> file_;
  GgufHeader header_;
};

}  // namespace torchllm
