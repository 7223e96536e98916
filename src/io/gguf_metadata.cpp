#include "torchllm/error.h"
#include "torchllm/gguf.h"

namespace torchllm {

const char* gguf_type_name(GgufType type) {
  switch (type) {
    case GgufType::kU8:
      return "uint8";
    case GgufType::kI8:
      return "int8";
    case GgufType::kU16:
      return "uint16";
    case GgufType::kI16:
      return "int16";
    case GgufType::kU32:
      return "uint32";
    case GgufType::kI32:
      return "int32";
    case GgufType::kF32:
      return "float32";
    case GgufType::kBool:
      return "bool";
    case GgufType::kString:
      return "string";
    case GgufType::kArray:
      return "array";
    case GgufType::kU64:
      return "uint64";
    case GgufType::kI64:
      return "int64";
    case GgufType::kF64:
      return "float64";
  }
  return "unknown";
}

namespace {

const GgufValue& typed(const GgufMetadata& m, const std::string& key, GgufType expected) {
  const GgufValue& v = m.at(key);
  if (v.type != expected) {
    throw Error::corrupt("GGUF metadata '" + key + "' is " + gguf_type_name(v.type) + ", expected " +
                         gguf_type_name(expected));
  }
  return v;
}

}  // namespace

const GgufValue* GgufMetadata::find(const std::string& key) const {
  for (const GgufKeyValue& kv : entries) {
    if (kv.key == key) return &kv.value;
  }
  return nullptr;
}

const GgufValue& GgufMetadata::at(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) throw Error::not_found("GGUF metadata has no key '" + key + "'");
  return *v;
}

uint8_t GgufMetadata::get_u8(const std::string& key) const {
  return static_cast<uint8_t>(typed(*this, key, GgufType::kU8).u);
}
int8_t GgufMetadata::get_i8(const std::string& key) const {
  return static_cast<int8_t>(typed(*this, key, GgufType::kI8).i);
}
uint16_t GgufMetadata::get_u16(const std::string& key) const {
  return static_cast<uint16_t>(typed(*this, key, GgufType::kU16).u);
}
int16_t GgufMetadata::get_i16(const std::string& key) const {
  return static_cast<int16_t>(typed(*this, key, GgufType::kI16).i);
}
uint32_t GgufMetadata::get_u32(const std::string& key) const {
  return static_cast<uint32_t>(typed(*this, key, GgufType::kU32).u);
}
int32_t GgufMetadata::get_i32(const std::string& key) const {
  return static_cast<int32_t>(typed(*this, key, GgufType::kI32).i);
}
uint64_t GgufMetadata::get_u64(const std::string& key) const { return typed(*this, key, GgufType::kU64).u; }
int64_t GgufMetadata::get_i64(const std::string& key) const { return typed(*this, key, GgufType::kI64).i; }
float GgufMetadata::get_f32(const std::string& key) const {
  return static_cast<float>(typed(*this, key, GgufType::kF32).f);
}
double GgufMetadata::get_f64(const std::string& key) const { return typed(*this, key, GgufType::kF64).f; }
bool GgufMetadata::get_bool(const std::string& key) const {
  return typed(*this, key, GgufType::kBool).u != 0;
}
const std::string& GgufMetadata::get_string(const std::string& key) const {
  return typed(*this, key, GgufType::kString).s;
}

const std::vector<GgufValue>& GgufMetadata::get_array(const std::string& key, GgufType element_type) const {
  const GgufValue& v = typed(*this, key, GgufType::kArray);
  if (v.element_type != element_type) {
    throw Error::corrupt("GGUF metadata '" + key + "' is an array of " + gguf_type_name(v.element_type) +
                         ", expected an array of " + gguf_type_name(element_type));
  }
  return v.items;
}

int64_t GgufMetadata::get_int(const std::string& key) const {
  const GgufValue& v = at(key);
  switch (v.type) {
    case GgufType::kU8:
    case GgufType::kU16:
    case GgufType::kU32:
    case GgufType::kU64:
      if (v.u > static_cast<uint64_t>(INT64_MAX)) {
        throw Error::corrupt("GGUF metadata '" + key + "' is out of range (" + std::to_string(v.u) + ")");
      }
      return static_cast<int64_t>(v.u);
    case GgufType::kI8:
    case GgufType::kI16:
    case GgufType::kI32:
    case GgufType::kI64:
      return v.i;
    default:
      throw Error::corrupt("GGUF metadata '" + key + "' is " + gguf_type_name(v.type) +
                           ", expected an integer");
  }
}

double GgufMetadata::get_number(const std::string& key) const {
  const GgufValue& v = at(key);
  if (v.type == GgufType::kF32 || v.type == GgufType::kF64) return v.f;
  return static_cast<double>(get_int(key));
}

std::vector<std::string> GgufMetadata::get_string_array(const std::string& key) const {
  std::vector<std::string> out;
  for (const GgufValue& item : get_array(key, GgufType::kString)) out.push_back(item.s);
  return out;
}

}  // namespace torchllm
