// Parsing and validation of a GGUF image. Every length and count read from the file is checked against the
// bytes that remain before it is used, so a corrupt file ends in an Error, never in a huge allocation or a
// read past the end.
#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "torchllm/error.h"
#include "torchllm/gguf.h"

namespace torchllm {
namespace {

constexpr uint32_t kMaxDims = 4;            // GGML_MAX_DIMS
constexpr int kMaxArrayNesting = 16;        // deeper nesting is no real metadata, only a stack risk
constexpr uint64_t kDefaultAlignment = 32;  // GGUF_DEFAULT_ALIGNMENT

class Cursor {
 public:
  Cursor(const uint8_t* bytes, size_t size, const std::string& where)
      : bytes_(bytes), size_(size), where_(where) {}

  size_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  [[noreturn]] void fail(const std::string& message) const {
    throw Error::corrupt(where_ + ": corrupt GGUF file: " + message);
  }

  void need(uint64_t n, const std::string& what) const {
    if (n > remaining()) {
      fail("truncated while reading " + what + " at byte " + std::to_string(pos_) + " (needs " +
           std::to_string(n) + " bytes, " + std::to_string(remaining()) + " left)");
    }
  }

  template <typename T>
  T read(const std::string& what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  std::string read_string(const std::string& what) {
    const size_t at = pos_;
    const uint64_t len = read<uint64_t>(what + " length");
    if (len > remaining()) {
      fail(what + " at byte " + std::to_string(at) + " claims " + std::to_string(len) + " bytes but only " +
           std::to_string(remaining()) + " remain in the file");
    }
    std::string s(reinterpret_cast<const char*>(bytes_ + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return s;
  }

 private:
  const uint8_t* bytes_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& where_;
};

bool known_value_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::kF64); }

// The fewest bytes one value of this type takes, to reject counts the rest of the file cannot hold.
uint64_t min_value_size(GgufType t) {
  switch (t) {
    case GgufType::kU8:
    case GgufType::kI8:
    case GgufType::kBool:
      return 1;
    case GgufType::kU16:
    case GgufType::kI16:
      return 2;
    case GgufType::kU32:
    case GgufType::kI32:
    case GgufType::kF32:
      return 4;
    case GgufType::kString:
    case GgufType::kU64:
    case GgufType::kI64:
    case GgufType::kF64:
      return 8;
    case GgufType::kArray:
      return 12;
  }
  return 1;
}

GgufValue read_value(Cursor& in, GgufType type, const std::string& key, int depth) {
  GgufValue v;
  v.type = type;
  const std::string what = "value of '" + key + "'";
  switch (type) {
    case GgufType::kU8:
      v.u = in.read<uint8_t>(what);
      break;
    case GgufType::kI8:
      v.i = in.read<int8_t>(what);
      break;
    case GgufType::kU16:
      v.u = in.read<uint16_t>(what);
      break;
    case GgufType::kI16:
      v.i = in.read<int16_t>(what);
      break;
    case GgufType::kU32:
      v.u = in.read<uint32_t>(what);
      break;
    case GgufType::kI32:
      v.i = in.read<int32_t>(what);
      break;
    case GgufType::kU64:
      v.u = in.read<uint64_t>(what);
      break;
    case GgufType::kI64:
      v.i = in.read<int64_t>(what);
      break;
    case GgufType::kF32:
      v.f = in.read<float>(what);
      break;
    case GgufType::kF64:
      v.f = in.read<double>(what);
      break;
    case GgufType::kBool: {
      const size_t at = in.pos();
      v.u = in.read<uint8_t>(what);
      if (v.u > 1)
        in.fail("bool " + what + " at byte " + std::to_string(at) + " is " + std::to_string(v.u) +
                ", not 0 or 1");
      break;
    }
    case GgufType::kString:
      v.s = in.read_string("string " + what);
      break;
    case GgufType::kArray: {
      if (depth >= kMaxArrayNesting)
        in.fail("arrays in '" + key + "' nest deeper than " + std::to_string(kMaxArrayNesting));
      const uint32_t et = in.read<uint32_t>("array element type of '" + key + "'");
      if (!known_value_type(et))
        in.fail("unknown array element type " + std::to_string(et) + " in '" + key + "'");
      v.element_type = static_cast<GgufType>(et);
      const size_t at = in.pos();
      const uint64_t n = in.read<uint64_t>("array length of '" + key + "'");
      if (n > in.remaining() / min_value_size(v.element_type)) {
        in.fail("array '" + key + "' at byte " + std::to_string(at) + " claims " + std::to_string(n) + " " +
                gguf_type_name(v.element_type) + " items, more than the " + std::to_string(in.remaining()) +
                " bytes left can hold");
      }
      v.items.reserve(static_cast<size_t>(n));
      for (uint64_t k = 0; k < n; ++k) v.items.push_back(read_value(in, v.element_type, key, depth + 1));
      break;
    }
  }
  return v;
}

uint64_t read_count(Cursor& in, const char* what, uint64_t min_item_size, uint64_t file_size) {
  const uint64_t n = in.read<uint64_t>(what);
  if (n > in.remaining() / min_item_size) {
    in.fail(std::string(what) + " " + std::to_string(n) + " is impossible for a file of " +
            std::to_string(file_size) + " bytes");
  }
  return n;
}

uint64_t alignment_of(const GgufMetadata& metadata, Cursor& in) {
  const GgufValue* a = metadata.find("general.alignment");
  if (!a) return kDefaultAlignment;
  if (a->type != GgufType::kU32) {
    in.fail(std::string("general.alignment is ") + gguf_type_name(a->type) + ", must be uint32");
  }
  if (a->u == 0 || (a->u & (a->u - 1)) != 0) {
    in.fail("general.alignment " + std::to_string(a->u) + " is not a power of two");
  }
  return a->u;
}

GgufTensorInfo read_tensor_info(Cursor& in, uint64_t alignment) {
  GgufTensorInfo t;
  t.name = in.read_string("tensor name");
  const std::string label = "tensor '" + t.name + "'";
  const uint32_t n_dims = in.read<uint32_t>("dimension count of " + label);
  if (n_dims > kMaxDims) {
    in.fail(label + " has " + std::to_string(n_dims) + " dimensions; GGUF allows at most " +
            std::to_string(kMaxDims));
  }
  int64_t numel = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    const int64_t dim = in.read<int64_t>("dimensions of " + label);
    if (dim < 0) in.fail(label + " has negative dimension " + std::to_string(dim));
    if (__builtin_mul_overflow(numel, dim, &numel))
      in.fail(label + ": the product of its dimensions overflows");
    t.dims.push_back(dim);
  }
  const uint32_t type_id = in.read<uint32_t>("type of " + label);
  t.type = find_ggml_type(type_id);
  if (!t.type) {
    throw Error::unsupported(label + " has ggml type " + std::to_string(type_id) +
                             ", which ggml does not define (or has removed)");
  }
  const uint64_t row = t.dims.empty() ? 1 : static_cast<uint64_t>(t.dims[0]);
  if (row % t.type->block_size != 0) {
    in.fail(label + ": a row of " + std::to_string(row) + " elements is not a multiple of the " +
            t.type->name + " block size " + std::to_string(t.type->block_size));
  }
  if (__builtin_mul_overflow(static_cast<uint64_t>(numel) / t.type->block_size, t.type->type_size, &t.size)) {
    in.fail(label + ": its size in bytes overflows");
  }
  t.offset = in.read<uint64_t>("data offset of " + label);
  if (t.offset % alignment != 0) {
    in.fail(label + " data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
            std::to_string(alignment));
  }
  return t;
}

void check_tensor_layout(const GgufHeader& h, size_t size, Cursor& in) {
  if (h.data_offset > size) {
    in.fail("truncated: the data section would start at byte " + std::to_string(h.data_offset) +
            ", past the end (" + std::to_string(size) + " bytes)");
  }
  const uint64_t data_size = size - h.data_offset;
  std::unordered_set<std::string> names;
  std::vector<const GgufTensorInfo*> by_offset;
  for (const GgufTensorInfo& t : h.tensors) {
    if (!names.insert(t.name).second) in.fail("duplicate tensor name '" + t.name + "'");
    if (t.offset > data_size || t.size > data_size - t.offset) {
      in.fail("tensor '" + t.name + "' (" + std::to_string(t.size) + " bytes at data offset " +
              std::to_string(t.offset) + ") runs past the end of the file (data section is " +
              std::to_string(data_size) + " bytes)");
    }
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
  for (size_t k = 1; k < by_offset.size(); ++k) {
    const GgufTensorInfo& prev = *by_offset[k - 1];
    const GgufTensorInfo& cur = *by_offset[k];
    if (prev.offset + prev.size > cur.offset && prev.size > 0 && cur.size > 0) {
      in.fail("tensors '" + prev.name + "' and '" + cur.name + "' overlap in the data section");
    }
  }
}

}  // namespace

GgufHeader parse_gguf(const uint8_t* bytes, size_t size, const std::string& where) {
  static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE floats expected");
  Cursor in(bytes, size, where);
  GgufHeader h;
  in.need(4, "the magic");
  if (std::memcmp(bytes, "GGUF", 4) != 0) {
    throw Error::corrupt(where + ": not a GGUF file (the first 4 bytes are not \"GGUF\")");
  }
  in.read<uint32_t>("the magic");
  h.version = in.read<uint32_t>("the version");
  if (h.version != 2 && h.version != 3) {
    std::string hint =
        h.version == 1 ? " (GGUF v1 is obsolete: convert the model again with a current llama.cpp)"
        : (h.version & 0xFFFF) == 0 ? " (a big-endian file? only little-endian GGUF is supported)"
                                    : "";
    throw Error::unsupported(where + ": unsupported GGUF version " + std::to_string(h.version) +
                             "; versions 2 and 3 are supported" + hint);
  }
  // The smallest tensor info: empty name (8), dim count (4), type (4), offset (8); smallest pair: 8 + 4 + 1.
  const uint64_t n_tensors = read_count(in, "tensor count", 24, size);
  const uint64_t n_kv = read_count(in, "metadata key/value count", 13, size);
  std::unordered_set<std::string> keys;
  for (uint64_t k = 0; k < n_kv; ++k) {
    GgufKeyValue kv;
    kv.key = in.read_string("metadata key");
    if (!keys.insert(kv.key).second) in.fail("duplicate metadata key '" + kv.key + "'");
    const uint32_t type = in.read<uint32_t>("value type of '" + kv.key + "'");
    if (!known_value_type(type))
      in.fail("unknown value type " + std::to_string(type) + " for key '" + kv.key + "'");
    kv.value = read_value(in, static_cast<GgufType>(type), kv.key, 0);
    h.metadata.entries.push_back(std::move(kv));
  }
  h.alignment = alignment_of(h.metadata, in);
  h.tensors.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t k = 0; k < n_tensors; ++k) h.tensors.push_back(read_tensor_info(in, h.alignment));
  h.data_offset = (in.pos() + h.alignment - 1) / h.alignment * h.alignment;
  if (!h.tensors.empty()) check_tensor_layout(h, size, in);
  return h;
}

}  // namespace torchllm
