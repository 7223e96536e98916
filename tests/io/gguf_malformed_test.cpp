// Crafted malformed GGUF images: each must end in a torchllm::Error of the right kind whose message names the
// problem.
#include <gtest/gtest.h>

#include <cstring>

#include "torchllm/error.h"
#include "torchllm/gguf.h"

namespace torchllm {
namespace {

using Bytes = std::vector<uint8_t>;

template <typename T>
void put(Bytes& b, T v) {
  const size_t at = b.size();
  b.resize(at + sizeof(T));
  std::memcpy(b.data() + at, &v, sizeof(T));
}

void put_string(Bytes& b, const std::string& s) {
  put<uint64_t>(b, s.size());
  b.insert(b.end(), s.begin(), s.end());
}

Bytes kv(const std::string& key, GgufType type, const Bytes& payload) {
  Bytes b;
  put_string(b, key);
  put<uint32_t>(b, static_cast<uint32_t>(type));
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes kv_u32(const std::string& key, uint32_t v) {
  Bytes p;
  put<uint32_t>(p, v);
  return kv(key, GgufType::kU32, p);
}

struct TensorSpec {
  std::string name;
  std::vector<int64_t> dims;
  uint32_t type = 0;  // F32
  uint64_t offset = 0;
};

struct FileSpec {
  std::string magic = "GGUF";
  uint32_t version = 3;
  int64_t tensor_count = -1;  // -1: the number of tensors
  int64_t kv_count = -1;      // -1: the number of kvs
  std::vector<Bytes> kvs;
  std::vector<TensorSpec> tensors = {{"a", {4, 2}, 0, 0}, {"b", {8}, 0, 32}};
  uint64_t alignment = 32;
  size_t data_bytes = 64;
};

Bytes build(const FileSpec& s) {
  Bytes b(s.magic.begin(), s.magic.end());
  put<uint32_t>(b, s.version);
  put<uint64_t>(b, s.tensor_count < 0 ? s.tensors.size() : static_cast<uint64_t>(s.tensor_count));
  put<uint64_t>(b, s.kv_count < 0 ? s.kvs.size() : static_cast<uint64_t>(s.kv_count));
  for (const Bytes& k : s.kvs) b.insert(b.end(), k.begin(), k.end());
  for (const TensorSpec& t : s.tensors) {
    put_string(b, t.name);
    put<uint32_t>(b, static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) put<int64_t>(b, d);
    put<uint32_t>(b, t.type);
    put<uint64_t>(b, t.offset);
  }
  while (b.size() % s.alignment != 0) b.push_back(0);
  b.resize(b.size() + s.data_bytes, 0x5a);
  return b;
}

std::string error_of(const Bytes& b, Error::Kind kind = Error::Kind::kCorruptInput) {
  try {
    parse_gguf(b.data(), b.size(), "x.gguf");
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<int>(kind), static_cast<int>(e.kind())) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "parsed without an error";
  return "";
}

#define EXPECT_ERROR(spec_or_bytes, text) \
  EXPECT_NE(error_of(spec_or_bytes).find(text), std::string::npos) << error_of(spec_or_bytes)

TEST(GgufMalformed, ValidBaselineParses) {
  FileSpec s;
  s.kvs = {kv_u32("general.alignment", 32)};
  const Bytes b = build(s);
  const GgufHeader h = parse_gguf(b.data(), b.size(), "x.gguf");
  ASSERT_EQ(h.tensors.size(), 2u);
  EXPECT_EQ(h.tensors[0].size, 32u);
  EXPECT_EQ(h.tensors[1].offset, 32u);
}

TEST(GgufMalformed, BadMagic) {
  FileSpec s;
  s.magic = "GGML";
  EXPECT_EQ(error_of(build(s)), "x.gguf: not a GGUF file (the first 4 bytes are not \"GGUF\")");
  EXPECT_NE(error_of(Bytes{'G', 'G'}).find("truncated"), std::string::npos);
}

TEST(GgufMalformed, UnsupportedVersions) {
  FileSpec s;
  s.version = 1;
  EXPECT_EQ(
      error_of(build(s), Error::Kind::kUnsupported),
      "x.gguf: unsupported GGUF version 1; versions 2 and 3 are supported (GGUF v1 is obsolete: convert the "
      "model again with a current llama.cpp)");
  s.version = 4;
  EXPECT_EQ(error_of(build(s), Error::Kind::kUnsupported),
            "x.gguf: unsupported GGUF version 4; versions 2 and 3 are supported");
  s.version = 0x03000000;
  EXPECT_NE(error_of(build(s), Error::Kind::kUnsupported).find("big-endian"), std::string::npos);
}

TEST(GgufMalformed, TruncatedAnywhere) {
  FileSpec s;
  s.kvs = {kv_u32("general.alignment", 32),
           kv("name", GgufType::kString, Bytes{3, 0, 0, 0, 0, 0, 0, 0, 'a', 'b', 'c'})};
  const Bytes full = build(s);
  for (size_t len = 0; len < full.size(); ++len) {
    const Bytes cut(full.begin(), full.begin() + static_cast<long>(len));
    const std::string e = error_of(cut);
    EXPECT_TRUE(e.find("truncated") != std::string::npos || e.find("past the end") != std::string::npos ||
                e.find("remain") != std::string::npos || e.find("impossible") != std::string::npos)
        << len << ": " << e;
  }
}

TEST(GgufMalformed, LengthsAndCountsThatOverflow) {
  FileSpec s;
  Bytes huge_key;
  put<uint64_t>(huge_key, UINT64_MAX);
  s.kvs = {huge_key};
  EXPECT_ERROR(build(s), "metadata key at byte 24 claims 18446744073709551615 bytes but only");
  Bytes arr;
  put<uint32_t>(arr, static_cast<uint32_t>(GgufType::kString));
  put<uint64_t>(arr, uint64_t{1} << 61);
  s.kvs = {kv("list", GgufType::kArray, arr)};
  EXPECT_ERROR(build(s), "array 'list' at byte 44 claims 2305843009213693952 string items");
  s = FileSpec{};
  s.tensor_count = INT64_MAX;
  EXPECT_ERROR(build(s), "tensor count 9223372036854775807 is impossible for a file of");
  s = FileSpec{};
  s.kv_count = 1 << 20;
  EXPECT_ERROR(build(s), "metadata key/value count 1048576 is impossible");
}

TEST(GgufMalformed, BadValues) {
  FileSpec s;
  s.kvs = {kv("k", static_cast<GgufType>(13), Bytes{0})};
  EXPECT_ERROR(build(s), "unknown value type 13 for key 'k'");
  Bytes arr;
  put<uint32_t>(arr, 77);
  put<uint64_t>(arr, 0);
  s.kvs = {kv("k", GgufType::kArray, arr)};
  EXPECT_ERROR(build(s), "unknown array element type 77 in 'k'");
  s.kvs = {kv("flag", GgufType::kBool, Bytes{2})};
  EXPECT_ERROR(build(s), "bool value of 'flag' at byte 40 is 2, not 0 or 1");
  s.kvs = {kv_u32("k", 1), kv_u32("k", 2)};
  EXPECT_ERROR(build(s), "duplicate metadata key 'k'");
  Bytes nested;
  for (int level = 0; level < 20; ++level) {
    put<uint32_t>(nested, static_cast<uint32_t>(GgufType::kArray));
    put<uint64_t>(nested, 1);
  }
  put<uint32_t>(nested, static_cast<uint32_t>(GgufType::kU8));
  put<uint64_t>(nested, 0);
  s.kvs = {kv("deep", GgufType::kArray, nested)};
  EXPECT_ERROR(build(s), "arrays in 'deep' nest deeper than 16");
}

TEST(GgufMalformed, Alignment) {
  FileSpec s;
  s.kvs = {kv_u32("general.alignment", 0)};
  EXPECT_ERROR(build(s), "general.alignment 0 is not a power of two");
  s.kvs = {kv_u32("general.alignment", 48)};
  EXPECT_ERROR(build(s), "general.alignment 48 is not a power of two");
  Bytes p;
  put<uint64_t>(p, 32);
  s.kvs = {kv("general.alignment", GgufType::kU64, p)};
  EXPECT_ERROR(build(s), "general.alignment is uint64, must be uint32");
  s = FileSpec{};
  s.tensors[1].offset = 40;
  EXPECT_ERROR(build(s), "tensor 'b' data offset 40 is not a multiple of the alignment 32");
}

TEST(GgufMalformed, TensorShapesAndTypes) {
  FileSpec s;
  s.tensors[0].dims = {1, 1, 1, 1, 1};
  EXPECT_ERROR(build(s), "tensor 'a' has 5 dimensions; GGUF allows at most 4");
  s = FileSpec{};
  s.tensors[0].dims = {4, -2};
  EXPECT_ERROR(build(s), "tensor 'a' has negative dimension -2");
  s.tensors[0].dims = {INT64_MAX / 2, 4};
  EXPECT_ERROR(build(s), "tensor 'a': the product of its dimensions overflows");
  s.tensors[0].dims = {int64_t{1} << 62};  // 2^62 f32 elements: 2^64 bytes
  EXPECT_ERROR(build(s), "tensor 'a': its size in bytes overflows");
  s.tensors[0].dims = {33, 1};
  s.tensors[0].type = 2;  // Q4_0
  EXPECT_ERROR(build(s), "tensor 'a': a row of 33 elements is not a multiple of the q4_0 block size 32");
  s.tensors[0].type = 99;
  EXPECT_EQ(error_of(build(s), Error::Kind::kUnsupported),
            "tensor 'a' has ggml type 99, which ggml does not define (or has removed)");
  s.tensors[0].type = 4;  // Q4_2, removed from ggml
  error_of(build(s), Error::Kind::kUnsupported);
}

TEST(GgufMalformed, TensorPlacement) {
  FileSpec s;
  s.data_bytes = 40;
  EXPECT_ERROR(build(s), "tensor 'b' (32 bytes at data offset 32) runs past the end of the file");
  s = FileSpec{};
  s.tensors[1].offset = UINT64_MAX - 31;
  EXPECT_ERROR(build(s), "runs past the end of the file");
  s = FileSpec{};
  s.tensors[1].offset = 0;
  EXPECT_ERROR(build(s), "tensors 'a' and 'b' overlap in the data section");
  s = FileSpec{};
  s.tensors[1].name = "a";
  EXPECT_ERROR(build(s), "duplicate tensor name 'a'");
  s = FileSpec{};
  s.data_bytes = 0;
  s.tensors = {{"a", {4}, 0, 0}};
  Bytes b = build(s);
  b.resize(b.size() - 8);  // the data section would start past the end of the file
  EXPECT_ERROR(b, "truncated");
}

}  // namespace
}  // namespace torchllm
