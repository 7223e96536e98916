#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "torchllm/error.h"
#include "torchllm/safetensors.h"

namespace torchllm {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the format's own limit
constexpr size_t kMaxRank = 8;

StorageDtype parse_dtype(const std::string& name, const std::string& tensor, const std::string& where) {
  if (name == "F32") return StorageDtype::kF32;
  if (name == "F16") return StorageDtype::kF16;
  if (name == "BF16") return StorageDtype::kBF16;
  static const char* const kKnownUnsupported[] = {"F64", "I64", "I32", "I16",  "I8",      "U8",
                                                  "U16", "U32", "U64", "BOOL", "F8_E4M3", "F8_E5M2"};
  for (const char* known : kKnownUnsupported) {
    if (name == known) {
      throw Error::unsupported(where + ": tensor '" + tensor + "' has dtype " + name +
                               "; torchllm loads F32, F16 and BF16 checkpoints");
    }
  }
  throw Error::corrupt(where + ": tensor '" + tensor + "' has unknown dtype '" + name + "'");
}

uint64_t as_count(const nlohmann::json& value, const std::string& what, const std::string& where) {
  if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0)) {
    throw Error::corrupt(where + ": " + what + " must be a non-negative integer");
  }
  return value.get<uint64_t>();
}

TensorEntry parse_entry(const std::string& name, const nlohmann::json& spec, const std::string& where) {
  const std::string what = "tensor '" + name + "'";
  if (!spec.is_object()) throw Error::corrupt(where + ": " + what + " is not a JSON object");
  auto dtype = spec.find("dtype");
  auto shape = spec.find("shape");
  auto offsets = spec.find("data_offsets");
  if (dtype == spec.end() || !dtype->is_string() || shape == spec.end() || !shape->is_array() ||
      offsets == spec.end() || !offsets->is_array() || offsets->size() != 2) {
    throw Error::corrupt(where + ": " + what +
                         " needs a string 'dtype', an array 'shape' and two 'data_offsets'");
  }
  TensorEntry entry;
  entry.name = name;
  entry.dtype = parse_dtype(dtype->get<std::string>(), name, where);
  if (shape->size() > kMaxRank) throw Error::corrupt(where + ": " + what + " has rank above 8");
  uint64_t numel = 1;
  for (const auto& dim : *shape) {
    uint64_t d = as_count(dim, what + " shape", where);
    if (d > (uint64_t{1} << 40) || (d != 0 && numel > std::numeric_limits<uint64_t>::max() / 8 / d)) {
      throw Error::corrupt(where + ": " + what + " has an impossible shape");
    }
    numel *= d;
    entry.shape.push_back(static_cast<int64_t>(d));
  }
  entry.begin = as_count((*offsets)[0], what + " data_offsets", where);
  entry.end = as_count((*offsets)[1], what + " data_offsets", where);
  if (entry.end < entry.begin)
    throw Error::corrupt(where + ": " + what + " has data_offsets end before begin");
  if (entry.end - entry.begin != numel * storage_dtype_size(entry.dtype)) {
    throw Error::corrupt(where + ": " + what + " holds " + std::to_string(entry.end - entry.begin) +
                         " bytes but its shape and dtype need " +
                         std::to_string(numel * storage_dtype_size(entry.dtype)));
  }
  return entry;
}

}  // namespace

const char* storage_dtype_name(StorageDtype dtype) {
  switch (dtype) {
    case StorageDtype::kF32:
      return "F32";
    case StorageDtype::kF16:
      return "F16";
    case StorageDtype::kBF16:
      return "BF16";
  }
  return "?";
}

size_t storage_dtype_size(StorageDtype dtype) { return dtype == StorageDtype::kF32 ? 4 : 2; }

int64_t TensorEntry::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsHeader parse_safetensors(const uint8_t* bytes, size_t size, const std::string& where) {
  if (size < 8) throw Error::corrupt(where + ": file is shorter than the 8-byte safetensors header length");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  if (header_len > kMaxHeaderBytes) {
    throw Error::corrupt(where + ": header length " + std::to_string(header_len) +
                         " exceeds the 100 MB limit");
  }
  if (header_len > size - 8) {
    throw Error::corrupt(where + ": header length " + std::to_string(header_len) +
                         " runs past the end of the " + std::to_string(size) + "-byte file (truncated?)");
  }
  nlohmann::json json = nlohmann::json::parse(bytes + 8, bytes + 8 + header_len, nullptr, false);
  if (json.is_discarded()) throw Error::corrupt(where + ": header is not valid JSON");
  if (!json.is_object()) throw Error::corrupt(where + ": header is not a JSON object");

  SafetensorsHeader header;
  header.data_offset = 8 + header_len;
  const uint64_t data_size = size - header.data_offset;
  for (const auto& item : json.items()) {
    if (item.key() == "__metadata__") {
      if (!item.value().is_object()) throw Error::corrupt(where + ": __metadata__ is not an object");
      for (const auto& meta : item.value().items()) {
        if (!meta.value().is_string()) throw Error::corrupt(where + ": __metadata__ values must be strings");
        header.metadata[meta.key()] = meta.value().get<std::string>();
      }
      continue;
    }
    TensorEntry entry = parse_entry(item.key(), item.value(), where);
    if (entry.end > data_size) {
      throw Error::corrupt(where + ": tensor '" + entry.name + "' ends at byte " + std::to_string(entry.end) +
                           " of a " + std::to_string(data_size) + "-byte data section (truncated file?)");
    }
    header.tensors.push_back(std::move(entry));
  }
  std::sort(header.tensors.begin(), header.tensors.end(), [](const TensorEntry& a, const TensorEntry& b) {
    return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
  });
  for (size_t i = 1; i < header.tensors.size(); ++i) {
    const TensorEntry& prev = header.tensors[i - 1];
    const TensorEntry& cur = header.tensors[i];
    if (cur.begin < prev.end) {
      throw Error::corrupt(where + ": tensors '" + prev.name + "' and '" + cur.name +
                           "' overlap in the file");
    }
  }
  return header;
}

}  // namespace torchllm
