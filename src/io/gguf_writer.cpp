#include "torchllm/gguf_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <type_traits>
#include <utility>

#include "torchllm/error.h"

namespace torchllm {
namespace {

constexpr uint32_t kVersion = 3;
constexpr size_t kMaxName = 63;  // GGML_MAX_NAME (64) with its terminating NUL
constexpr size_t kMaxDims = 4;   // GGML_MAX_DIMS

// Everything GGUF stores is little-endian; the header is built in memory byte by byte so that the host's
// byte order does not matter.
class Buffer {
 public:
  template <typename T>
  void put(T v) {
    static_assert(std::is_integral<T>::value, "integers only");
    for (size_t i = 0; i < sizeof(T); ++i)
      bytes_.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xFF));
  }
  void put_f32(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    put(bits);
  }
  void put_f64(double f) {
    uint64_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    put(bits);
  }
  void put_string(const std::string& s) {  // u64 length, then the bytes (no NUL)
    put(static_cast<uint64_t>(s.size()));
    bytes_ += s;
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

bool is_value_type(GgufType t) { return static_cast<uint32_t>(t) <= static_cast<uint32_t>(GgufType::kF64); }

// Rejects what would write a file a reader refuses: an array holding items of another type than it declares.
void check_value(const GgufValue& v, const std::string& key) {
  if (!is_value_type(v.type)) {
    throw Error::invalid_argument("metadata '" + key + "' has unknown GGUF value type " +
                                  std::to_string(static_cast<uint32_t>(v.type)));
  }
  if (v.type != GgufType::kArray) return;
  for (const GgufValue& item : v.items) {
    if (item.type != v.element_type) {
      throw Error::invalid_argument("metadata '" + key + "' is an array of " +
                                    gguf_type_name(v.element_type) + " holding a " +
                                    gguf_type_name(item.type));
    }
    check_value(item, key);
  }
}

// The value without its type id; an array's items are written the same way (gguf-py's _pack_val), so a
// nested array item is its element type, count and items.
void put_value(Buffer& out, const GgufValue& v) {
  switch (v.type) {
    case GgufType::kU8:
      out.put(static_cast<uint8_t>(v.u));
      break;
    case GgufType::kI8:
      out.put(static_cast<int8_t>(v.i));
      break;
    case GgufType::kU16:
      out.put(static_cast<uint16_t>(v.u));
      break;
    case GgufType::kI16:
      out.put(static_cast<int16_t>(v.i));
      break;
    case GgufType::kU32:
      out.put(static_cast<uint32_t>(v.u));
      break;
    case GgufType::kI32:
      out.put(static_cast<int32_t>(v.i));
      break;
    case GgufType::kU64:
      out.put(static_cast<uint64_t>(v.u));
      break;
    case GgufType::kI64:
      out.put(static_cast<int64_t>(v.i));
      break;
    case GgufType::kF32:
      out.put_f32(static_cast<float>(v.f));
      break;
    case GgufType::kF64:
      out.put_f64(v.f);
      break;
    case GgufType::kBool:
      out.put(static_cast<uint8_t>(v.u != 0));
      break;
    case GgufType::kString:
      out.put_string(v.s);
      break;
    case GgufType::kArray:
      out.put(static_cast<uint32_t>(v.element_type));
      out.put(static_cast<uint64_t>(v.items.size()));
      for (const GgufValue& item : v.items) put_value(out, item);
      break;
  }
}

uint64_t padding(uint64_t n, uint64_t alignment) { return (alignment - n % alignment) % alignment; }

GgufValue scalar(GgufType type) {
  GgufValue v;
  v.type = type;
  return v;
}

GgufValue unsigned_value(GgufType type, uint64_t u) {
  GgufValue v = scalar(type);
  v.u = u;
  return v;
}

GgufValue signed_value(GgufType type, int64_t i) {
  GgufValue v = scalar(type);
  v.i = i;
  return v;
}

GgufValue float_value(GgufType type, double f) {
  GgufValue v = scalar(type);
  v.f = f;
  return v;
}

GgufValue array_of(GgufType element_type) {
  GgufValue v = scalar(GgufType::kArray);
  v.element_type = element_type;
  return v;
}

}  // namespace

GgufWriter::GgufWriter(const std::string& path) : path_(path), partial_path_(path + ".partial") {
  file_ = std::fopen(partial_path_.c_str(), "wb");
  if (!file_) {
    throw Error::invalid_argument("cannot create " + partial_path_ + ": " + std::strerror(errno));
  }
}

GgufWriter::~GgufWriter() {
  if (file_) std::fclose(file_);
  if (!finished_) std::remove(partial_path_.c_str());
}

void GgufWriter::require_header_not_written(const char* what) const {
  if (header_written_ || finished_) {
    throw Error::invalid_argument(std::string("GGUF writer: ") + what +
                                  " must come before the first tensor data (the header is already written)");
  }
}

void GgufWriter::add(const std::string& key, GgufValue value) {
  require_header_not_written("metadata");
  for (const GgufKeyValue& kv : metadata_) {
    if (kv.key == key)
      throw Error::invalid_argument("GGUF writer: metadata key '" + key + "' is added twice");
  }
  check_value(value, key);
  if (key == "general.alignment") {
    // Readers take the alignment only from a uint32 power of two (gguf-py's add_custom_alignment).
    if (value.type != GgufType::kU32 || value.u == 0 || (value.u & (value.u - 1)) != 0) {
      throw Error::invalid_argument("GGUF writer: general.alignment must be a uint32 power of two");
    }
    alignment_ = value.u;
  }
  metadata_.push_back(GgufKeyValue{key, std::move(value)});
}

void GgufWriter::add_u8(const std::string& key, uint8_t v) { add(key, unsigned_value(GgufType::kU8, v)); }
void GgufWriter::add_i8(const std::string& key, int8_t v) { add(key, signed_value(GgufType::kI8, v)); }
void GgufWriter::add_u16(const std::string& key, uint16_t v) { add(key, unsigned_value(GgufType::kU16, v)); }
void GgufWriter::add_i16(const std::string& key, int16_t v) { add(key, signed_value(GgufType::kI16, v)); }
void GgufWriter::add_u32(const std::string& key, uint32_t v) { add(key, unsigned_value(GgufType::kU32, v)); }
void GgufWriter::add_i32(const std::string& key, int32_t v) { add(key, signed_value(GgufType::kI32, v)); }
void GgufWriter::add_u64(const std::string& key, uint64_t v) { add(key, unsigned_value(GgufType::kU64, v)); }
void GgufWriter::add_i64(const std::string& key, int64_t v) { add(key, signed_value(GgufType::kI64, v)); }
void GgufWriter::add_f32(const std::string& key, float v) { add(key, float_value(GgufType::kF32, v)); }
void GgufWriter::add_f64(const std::string& key, double v) { add(key, float_value(GgufType::kF64, v)); }
void GgufWriter::add_bool(const std::string& key, bool v) { add(key, unsigned_value(GgufType::kBool, v)); }

void GgufWriter::add_string(const std::string& key, const std::string& v) {
  GgufValue value = scalar(GgufType::kString);
  value.s = v;
  add(key, std::move(value));
}

void GgufWriter::add_string_array(const std::string& key, const std::vector<std::string>& v) {
  GgufValue value = array_of(GgufType::kString);
  value.items.reserve(v.size());
  for (const std::string& s : v) {
    GgufValue item = scalar(GgufType::kString);
    item.s = s;
    value.items.push_back(std::move(item));
  }
  add(key, std::move(value));
}

void GgufWriter::add_i32_array(const std::string& key, const std::vector<int32_t>& v) {
  GgufValue value = array_of(GgufType::kI32);
  for (int32_t x : v) value.items.push_back(signed_value(GgufType::kI32, x));
  add(key, std::move(value));
}

void GgufWriter::add_u32_array(const std::string& key, const std::vector<uint32_t>& v) {
  GgufValue value = array_of(GgufType::kU32);
  for (uint32_t x : v) value.items.push_back(unsigned_value(GgufType::kU32, x));
  add(key, std::move(value));
}

void GgufWriter::add_f32_array(const std::string& key, const std::vector<float>& v) {
  GgufValue value = array_of(GgufType::kF32);
  for (float x : v) value.items.push_back(float_value(GgufType::kF32, x));
  add(key, std::move(value));
}

uint64_t GgufWriter::add_tensor(const std::string& name, const std::vector<int64_t>& dims,
                                uint32_t ggml_type) {
  require_header_not_written("tensor infos");
  const std::string label = "GGUF writer: tensor '" + name + "'";
  if (name.size() > kMaxName) {
    throw Error::invalid_argument(label + ": the name is " + std::to_string(name.size()) +
                                  " bytes; ggml allows at most " + std::to_string(kMaxName));
  }
  for (const Tensor& t : tensors_) {
    if (t.name == name) throw Error::invalid_argument(label + " is added twice");
  }
  if (dims.empty() || dims.size() > kMaxDims) {
    throw Error::invalid_argument(label + " has " + std::to_string(dims.size()) +
                                  " dimensions; GGUF allows 1 to " + std::to_string(kMaxDims));
  }
  const GgmlTypeTraits* type = find_ggml_type(ggml_type);
  if (!type) throw Error::invalid_argument(label + " has unknown ggml type " + std::to_string(ggml_type));
  int64_t numel = 1;
  for (int64_t d : dims) {
    if (d < 0) throw Error::invalid_argument(label + " has negative dimension " + std::to_string(d));
    if (__builtin_mul_overflow(numel, d, &numel)) {
      throw Error::invalid_argument(label + ": the product of its dimensions overflows");
    }
  }
  if (dims[0] % type->block_size != 0) {
    throw Error::invalid_argument(label + ": a row of " + std::to_string(dims[0]) +
                                  " elements is not a multiple of the " + type->name + " block size " +
                                  std::to_string(type->block_size));
  }
  const uint64_t size = static_cast<uint64_t>(numel) / type->block_size * type->type_size;
  tensors_.push_back(Tensor{name, dims, ggml_type, size, 0});
  return size;
}

void GgufWriter::write_header() {
  Buffer out;
  out.put(static_cast<uint32_t>(0x46554747));  // "GGUF" read as a little-endian uint32
  out.put(kVersion);
  out.put(static_cast<uint64_t>(tensors_.size()));
  out.put(static_cast<uint64_t>(metadata_.size()));
  for (const GgufKeyValue& kv : metadata_) {
    out.put_string(kv.key);
    out.put(static_cast<uint32_t>(kv.value.type));
    put_value(out, kv.value);
  }
  // Offsets are known only now: general.alignment may have been added after the tensors.
  uint64_t offset = 0;
  for (Tensor& t : tensors_) {
    t.offset = offset;
    offset += t.size + padding(t.size, alignment_);
    out.put_string(t.name);
    out.put(static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) out.put(static_cast<uint64_t>(d));
    out.put(t.type);
    out.put(t.offset);
  }
  header_written_ = true;
  write_bytes(out.bytes().data(), out.bytes().size());
  write_zeros(padding(out.bytes().size(), alignment_));
}

void GgufWriter::write_bytes(const void* data, size_t size) {
  if (size == 0) return;
  if (!file_) throw Error::invalid_argument("GGUF writer: " + partial_path_ + " is already closed");
  if (std::fwrite(data, 1, size, file_) != size) {
    throw Error::exhausted("cannot write " + partial_path_ + ": " + std::strerror(errno));
  }
}

void GgufWriter::write_zeros(uint64_t count) {
  static const char kZeros[256] = {};
  while (count > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(count, sizeof kZeros));
    write_bytes(kZeros, n);
    count -= n;
  }
}

void GgufWriter::write_tensor_data(const void* data, size_t size) {
  if (finished_) throw Error::invalid_argument("GGUF writer: " + path_ + " is already finished");
  if (!header_written_) write_header();
  const char* p = static_cast<const char*>(data);
  for (;;) {
    // Close the tensors that are complete (including empty ones): each ends padded to the alignment.
    while (current_ < tensors_.size() && current_written_ == tensors_[current_].size) {
      write_zeros(padding(tensors_[current_].size, alignment_));
      ++current_;
      current_written_ = 0;
    }
    if (size == 0) return;
    if (current_ == tensors_.size()) {
      throw Error::invalid_argument("GGUF writer: " + std::to_string(size) +
                                    " bytes of tensor data more than the declared tensors hold");
    }
    const uint64_t n = std::min<uint64_t>(size, tensors_[current_].size - current_written_);
    write_bytes(p, static_cast<size_t>(n));
    p += n;
    size -= static_cast<size_t>(n);
    current_written_ += n;
  }
}

void GgufWriter::finish() {
  if (finished_) return;
  write_tensor_data(nullptr, 0);  // writes the header if no data came, and the last tensor's padding
  if (current_ < tensors_.size()) {
    const Tensor& t = tensors_[current_];
    const size_t missing = tensors_.size() - current_ - 1;
    throw Error::invalid_argument(
        "GGUF writer: tensor '" + t.name + "' got " + std::to_string(current_written_) + " of its " +
        std::to_string(t.size) + " bytes" +
        (missing ? "; the " + std::to_string(missing) + " declared after it got none" : ""));
  }
  close_file();
  if (std::rename(partial_path_.c_str(), path_.c_str()) != 0) {
    throw Error::invalid_argument("cannot rename " + partial_path_ + " to " + path_ + ": " +
                                  std::strerror(errno));
  }
  finished_ = true;
}

void GgufWriter::close_file() {
  std::FILE* f = file_;
  file_ = nullptr;
  if (std::fflush(f) != 0 || std::ferror(f)) {
    const int err = errno;
    std::fclose(f);
    throw Error::exhausted("cannot write " + partial_path_ + ": " + std::strerror(err));
  }
  if (std::fclose(f) != 0)
    throw Error::exhausted("cannot write " + partial_path_ + ": " + std::strerror(errno));
}

}  // namespace torchllm
