#pragma once

// Writer for GGUF v3 files, laid out byte for byte as llama.cpp's gguf-py GGUFWriter and ggml's gguf.cpp do:
// header, metadata key/values, tensor infos, zero padding to the alignment, then each tensor's data padded to
// the alignment. Tensor data is streamed in declaration order, so a converter holds one tensor (or one chunk
// of one) in memory at a time, never the whole model.
//
//   GgufWriter w(path);
//   w.add_string("general.architecture", "llama");           // metadata, in file order
//   w.add_tensor("token_embd.weight", {4096, 32000}, 8);      // every tensor's name, dims and ggml type
//   w.write_tensor_data(bytes, n);                            // then the data, in the same order, in chunks
//   w.finish();                                               // completes the file under its final name
//
// The file is written as PATH.partial and renamed to PATH by finish(), so an interrupted conversion never
// leaves a truncated file that looks complete; the destructor removes an unfinished one.

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "torchllm/gguf.h"

namespace torchllm {

class GgufWriter {
 public:
  // Creates PATH.partial; throws Error(kInvalidArgument) if it cannot.
  explicit GgufWriter(const std::string& path);
  ~GgufWriter();
  GgufWriter(const GgufWriter&) = delete;
  GgufWriter& operator=(const GgufWriter&) = delete;

  // Metadata, written in the order added; only before the first tensor data. A "general.alignment" entry
  // (uint32, a power of two) sets the data alignment, 32 otherwise. Throws Error(kInvalidArgument) for a
  // duplicate key, an array whose items do not all have its element type, or a late call.
  void add(const std::string& key, GgufValue value);
  void add_u8(const std::string& key, uint8_t v);
  void add_i8(const std::string& key, int8_t v);
  void add_u16(const std::string& key, uint16_t v);
  void add_i16(const std::string& key, int16_t v);
  void add_u32(const std::string& key, uint32_t v);
  void add_i32(const std::string& key, int32_t v);
  void add_u64(const std::string& key, uint64_t v);
  void add_i64(const std::string& key, int64_t v);
  void add_f32(const std::string& key, float v);
  void add_f64(const std::string& key, double v);
  void add_bool(const std::string& key, bool v);
  void add_string(const std::string& key, const std::string& v);
  void add_string_array(const std::string& key, const std::vector<std::string>& v);
  void add_i32_array(const std::string& key, const std::vector<int32_t>& v);
  void add_u32_array(const std::string& key, const std::vector<uint32_t>& v);
  void add_f32_array(const std::string& key, const std::vector<float>& v);

  // Declares a tensor: `dims` in GGUF order (dims[0] is the contiguous one, a multiple of the type's block
  // size), `ggml_type` a ggml type id. Returns its size in bytes, what write_tensor_data must then supply.
  // Only before the first tensor data. Throws Error(kInvalidArgument) naming the tensor for a duplicate or
  // over-long name (ggml's limit is 63 bytes), more than 4 dims, a negative dim, an unknown type or a
  // partial block.
  uint64_t add_tensor(const std::string& name, const std::vector<int64_t>& dims, uint32_t ggml_type);

  // Appends bytes of the tensors' data, in declaration order: a call may hold part of a tensor or run across
  // the end of one into the next. The first call writes the header. Throws Error(kInvalidArgument) for more
  // bytes than the declared tensors hold, Error(kResourceExhausted) when the disk refuses them.
  void write_tensor_data(const void* data, size_t size);

  // Checks that every declared tensor got all its bytes, flushes, closes and renames PATH.partial to PATH.
  void finish();

  uint64_t alignment() const { return alignment_; }

 private:
  struct Tensor {
    std::string name;
    std::vector<int64_t> dims;
    uint32_t type;
    uint64_t size;
    uint64_t offset;  // in the data section
  };

  void require_header_not_written(const char* what) const;
  void write_header();
  void write_bytes(const void* data, size_t size);
  void write_zeros(uint64_t count);
  void close_file();

  std::string path_;
  std::string partial_path_;
  std::FILE* file_ = nullptr;
  std::vector<GgufKeyValue> metadata_;
  std::vector<Tensor> tensors_;
  uint64_t alignment_ = 32;
  uint64_t data_size_ = 0;  // the data section's size so far, with each tensor's padding
  bool header_written_ = false;
  bool finished_ = false;
  size_t current_ = 0;            // the tensor write_tensor_data is filling
  uint64_t current_written_ = 0;  // bytes of it written so far
};

}  // namespace torchllm
