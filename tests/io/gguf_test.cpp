// Our GGUF reader against files written by llama.cpp's gguf-py, with the expected view dumped by gguf-py's
// own GGUFReader (tools/make_gguf_fixtures.py), and against crafted malformed files.
#include "torchllm/gguf.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "torchllm/error.h"

namespace torchllm {
namespace {

const std::string kDir = std::string(TORCHLLM_TEST_DATA_DIR) + "/gguf/";

nlohmann::json load_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// gguf-py's contents() flattens nested arrays; so do we here, collecting the element type at each level.
void flatten(const GgufValue& v, std::vector<const GgufValue*>& leaves) {
  if (v.type != GgufType::kArray) {
    leaves.push_back(&v);
    return;
  }
  for (const GgufValue& item : v.items) flatten(item, leaves);
}

void expect_scalar(const nlohmann::json& want, const GgufValue& v, const std::string& key) {
  switch (v.type) {
    case GgufType::kU8:
    case GgufType::kU16:
    case GgufType::kU32:
    case GgufType::kU64:
      EXPECT_EQ(want.get<uint64_t>(), v.u) << key;
      break;
    case GgufType::kI8:
    case GgufType::kI16:
    case GgufType::kI32:
    case GgufType::kI64:
      EXPECT_EQ(want.get<int64_t>(), v.i) << key;
      break;
    case GgufType::kF32:
      EXPECT_EQ(static_cast<float>(want.get<double>()), static_cast<float>(v.f)) << key;
      break;
    case GgufType::kF64:
      EXPECT_EQ(want.get<double>(), v.f) << key;
      break;
    case GgufType::kBool:
      EXPECT_EQ(want.get<bool>(), v.u != 0) << key;
      break;
    case GgufType::kString:
      EXPECT_EQ(want.get<std::string>(), v.s) << key;
      break;
    case GgufType::kArray:
      ADD_FAILURE() << key << ": array where a scalar was expected";
  }
}

std::string hex(const uint8_t* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

void expect_matches_reference(const std::string& name) {
  SCOPED_TRACE(name);
  GgufFile file(kDir + name);
  const nlohmann::json ref = load_json(kDir + name + ".json");
  EXPECT_EQ(ref["version"].get<uint32_t>(), file.version());
  EXPECT_EQ(ref["alignment"].get<uint64_t>(), file.alignment());
  EXPECT_EQ(ref["data_offset"].get<uint64_t>(), file.data_offset());

  const auto& entries = file.metadata().entries;
  ASSERT_EQ(ref["metadata"].size(), entries.size());
  for (size_t k = 0; k < entries.size(); ++k) {
    const nlohmann::json& want = ref["metadata"][k];
    const GgufKeyValue& kv = entries[k];
    EXPECT_EQ(want["key"].get<std::string>(), kv.key);
    EXPECT_EQ(want["type"].get<std::string>(), gguf_type_name(kv.value.type)) << kv.key;
    if (kv.value.type != GgufType::kArray) {
      expect_scalar(want["value"], kv.value, kv.key);
      continue;
    }
    // Element types level by level (the first item of each level, as gguf-py records them).
    std::vector<std::string> types;
    for (const GgufValue* level = &kv.value; level->type == GgufType::kArray;
         level = level->items.empty() ? nullptr : &level->items[0]) {
      types.push_back(gguf_type_name(level->element_type));
      if (level->items.empty()) break;
    }
    EXPECT_EQ(want["element_types"].get<std::vector<std::string>>(), types) << kv.key;
    std::vector<const GgufValue*> leaves;
    flatten(kv.value, leaves);
    ASSERT_EQ(want["value"].size(), leaves.size()) << kv.key;
    for (size_t i = 0; i < leaves.size(); ++i) expect_scalar(want["value"][i], *leaves[i], kv.key);
  }

  ASSERT_EQ(ref["tensors"].size(), file.tensors().size());
  for (size_t k = 0; k < file.tensors().size(); ++k) {
    const nlohmann::json& want = ref["tensors"][k];
    const GgufTensorInfo& t = file.tensors()[k];
    SCOPED_TRACE(t.name);
    EXPECT_EQ(want["name"].get<std::string>(), t.name);
    EXPECT_EQ(want["dims"].get<std::vector<int64_t>>(), t.dims);
    EXPECT_EQ(want["type"].get<uint32_t>(), t.type->id);
    std::string upper = t.type->name;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(want["type_name"].get<std::string>(), upper);
    EXPECT_EQ(want["offset"].get<uint64_t>(), file.data_offset() + t.offset);
    EXPECT_EQ(want["n_bytes"].get<uint64_t>(), t.size);
    const std::string first = want["first_bytes"].get<std::string>();
    EXPECT_EQ(first, hex(file.data(t), first.size() / 2));
    EXPECT_EQ(&t, file.find_tensor(t.name));
  }
}

TEST(GgufReference, V3WithAlignment64AndQuantizedTensors) { expect_matches_reference("v3_align64.gguf"); }
TEST(GgufReference, V3DefaultAlignment) { expect_matches_reference("v3_default.gguf"); }
TEST(GgufReference, V2) { expect_matches_reference("v2.gguf"); }

TEST(GgufReference, TypeTableMatchesGgufPy) {
  const nlohmann::json ref = load_json(kDir + "ggml_types.json");
  ASSERT_EQ(ref.size(), ggml_types().size());
  for (const auto& want : ref) {
    const GgmlTypeTraits* t = find_ggml_type(want["id"].get<uint32_t>());
    ASSERT_NE(t, nullptr) << want["name"];
    EXPECT_EQ(want["block_size"].get<uint32_t>(), t->block_size) << t->name;
    EXPECT_EQ(want["type_size"].get<uint32_t>(), t->type_size) << t->name;
  }
  EXPECT_EQ(find_ggml_type(4), nullptr);  // Q4_2, removed
  EXPECT_EQ(find_ggml_type(99), nullptr);
}

TEST(GgufMetadata, TypedGetters) {
  GgufFile file(kDir + "v3_align64.gguf");
  const GgufMetadata& m = file.metadata();
  EXPECT_EQ(m.get_string("general.architecture"), "test");
  EXPECT_EQ(m.get_u32("general.alignment"), 64u);
  EXPECT_EQ(m.get_u8("test.u8"), 255);
  EXPECT_EQ(m.get_i8("test.i8"), -128);
  EXPECT_EQ(m.get_u16("test.u16"), 65535);
  EXPECT_EQ(m.get_i16("test.i16"), -32768);
  EXPECT_EQ(m.get_i32("test.i32"), INT32_MIN);
  EXPECT_EQ(m.get_u64("test.u64"), UINT64_MAX);
  EXPECT_EQ(m.get_i64("test.i64"), INT64_MIN);
  EXPECT_FLOAT_EQ(m.get_f32("test.f32"), 3.14159f);
  EXPECT_DOUBLE_EQ(m.get_f64("test.f64"), 2.718281828459045);
  EXPECT_TRUE(m.get_bool("test.bool_true"));
  EXPECT_FALSE(m.get_bool("test.bool_false"));
  EXPECT_EQ(m.get_string_array("test.array_strings"),
            (std::vector<std::string>{"a", "", "ünïcode", "<|im_start|>"}));
  EXPECT_EQ(m.get_array("test.array_nested", GgufType::kArray).size(), 3u);
  try {
    m.get_u32("test.i32");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kCorruptInput);
    EXPECT_STREQ(e.what(), "GGUF metadata 'test.i32' is int32, expected uint32");
  }
  try {
    m.get_string_array("test.array_i32");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "GGUF metadata 'test.array_i32' is an array of int32, expected an array of string");
  }
  try {
    m.get_string("no.such.key");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kNotFound);
    EXPECT_STREQ(e.what(), "GGUF metadata has no key 'no.such.key'");
  }
}

TEST(GgufFile, MissingFile) {
  try {
    GgufFile file(kDir + "absent.gguf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kNotFound);
  }
}

}  // namespace
}  // namespace torchllm
