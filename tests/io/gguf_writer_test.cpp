// The GGUF writer: it must reproduce gguf-py's own files byte for byte from their contents (so llama.cpp
// reads what we write exactly as it reads gguf-py's), round-trip every value type through our reader, stream
// data in any chunking, refuse what would make a file readers reject, and — where llama.cpp's gguf-py is
// installed — be read back by gguf-py's GGUFReader as our reader reads it.
#include "torchllm/gguf_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "torchllm/error.h"
#include "torchllm/gguf.h"

namespace torchllm {
namespace {

const std::string kDataDir = std::string(TORCHLLM_TEST_DATA_DIR);

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool exists(const std::string& path) { return std::ifstream(path).good(); }

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/gguf_writer_test_XXXXXX";
    const char* made = mkdtemp(tmpl);
    EXPECT_NE(made, nullptr);
    path_ = made ? made : "/tmp";
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Everything a GgufFile holds, written again with our writer.
void copy_gguf(const GgufFile& in, const std::string& out_path, size_t chunk) {
  GgufWriter w(out_path);
  for (const GgufKeyValue& kv : in.metadata().entries) w.add(kv.key, kv.value);
  for (const GgufTensorInfo& t : in.tensors()) {
    EXPECT_EQ(w.add_tensor(t.name, t.dims, t.type->id), t.size) << t.name;
  }
  // Concatenate the data and write it in fixed chunks that straddle tensor boundaries.
  std::string data;
  for (const GgufTensorInfo& t : in.tensors()) data.append(reinterpret_cast<const char*>(in.data(t)), t.size);
  for (size_t pos = 0; pos < data.size(); pos += chunk) {
    w.write_tensor_data(data.data() + pos, std::min(chunk, data.size() - pos));
  }
  w.finish();
}

TEST(GgufWriter, ReproducesGgufPyFilesByteForByte) {
  for (const char* name : {"v3_default.gguf", "v3_align64.gguf"}) {
    for (size_t chunk : {size_t(1), size_t(7), size_t(1) << 20}) {
      TempDir dir;
      const std::string original = kDataDir + "/gguf/" + name;
      GgufFile in(original);
      copy_gguf(in, dir.file("copy.gguf"), chunk);
      const std::string want = read_file(original);
      const std::string got = read_file(dir.file("copy.gguf"));
      ASSERT_EQ(got.size(), want.size()) << name << " chunk " << chunk;
      size_t first = 0;
      while (first < got.size() && got[first] == want[first]) ++first;
      EXPECT_EQ(first, got.size()) << name << ": first differing byte at " << first;
      EXPECT_FALSE(exists(dir.file("copy.gguf.partial")));
    }
  }
}

// A file with every value type, the array kinds a converter writes, and tensors of several ggml types.
struct Written {
  std::vector<std::string> names = {"token_embd.weight", "blk.0.attn_norm.weight", "blk.0.ffn_down.weight",
                                    "output.weight"};
  std::vector<std::vector<int64_t>> dims = {{64, 10}, {64}, {256, 3}, {32, 5}};
  std::vector<uint32_t> types = {1 /* f16 */, 0 /* f32 */, 12 /* q4_K */, 8 /* q8_0 */};
  std::vector<std::string> data;  // per tensor
};

Written write_sample(const std::string& path, uint32_t alignment, size_t chunk) {
  Written s;
  GgufWriter w(path);
  w.add_string("general.architecture", "llama");
  w.add_u8("t.u8", 200);
  w.add_i8("t.i8", -100);
  w.add_u16("t.u16", 60000);
  w.add_i16("t.i16", -30000);
  w.add_u32("t.u32", 4000000000u);
  w.add_i32("t.i32", -2000000000);
  w.add_u64("t.u64", 18000000000000000000ull);
  w.add_i64("t.i64", -9000000000000000000ll);
  w.add_f32("t.f32", 1e-3f);
  w.add_f64("t.f64", -2.5e300);
  w.add_bool("t.bool", true);
  w.add_string("t.string", "héllo ✓ 🦙");
  w.add_string_array("tokenizer.ggml.tokens", {"<s>", "", "▁the", "<|im_end|>"});
  w.add_i32_array("tokenizer.ggml.token_type", {3, 1, 1, -4});
  w.add_u32_array("t.u32_array", {0, 4294967295u});
  w.add_f32_array("tokenizer.ggml.scores", {0.f, -1.5f, 3.25e-8f});
  GgufValue nested;
  nested.type = GgufType::kArray;
  nested.element_type = GgufType::kArray;
  for (int n = 0; n < 2; ++n) {
    GgufValue inner;
    inner.type = GgufType::kArray;
    inner.element_type = GgufType::kU8;
    for (int k = 0; k <= n; ++k) {
      GgufValue item;
      item.type = GgufType::kU8;
      item.u = static_cast<uint64_t>(10 * n + k);
      inner.items.push_back(item);
    }
    nested.items.push_back(inner);
  }
  w.add("t.nested", nested);
  std::string all;
  uint32_t seed = 12345;
  for (size_t k = 0; k < s.names.size(); ++k) {
    const uint64_t size = w.add_tensor(s.names[k], s.dims[k], s.types[k]);
    std::string bytes(size, '\0');
    for (char& c : bytes) c = static_cast<char>((seed = seed * 1103515245u + 12345u) >> 24);
    s.data.push_back(bytes);
    all += bytes;
  }
  // Added last on purpose: the alignment applies to the tensor offsets however late it comes.
  if (alignment != 32) w.add_u32("general.alignment", alignment);
  for (size_t pos = 0; pos < all.size(); pos += chunk)
    w.write_tensor_data(all.data() + pos, std::min(chunk, all.size() - pos));
  w.finish();
  return s;
}

TEST(GgufWriter, RoundTripsThroughOurReader) {
  for (uint32_t alignment : {32u, 64u, 4096u}) {
    TempDir dir;
    const std::string path = dir.file("sample.gguf");
    const Written s = write_sample(path, alignment, 100);
    GgufFile f(path);
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.alignment(), alignment);
    EXPECT_EQ(f.data_offset() % alignment, 0u);
    const GgufMetadata& m = f.metadata();
    EXPECT_EQ(m.get_string("general.architecture"), "llama");
    EXPECT_EQ(m.get_u8("t.u8"), 200);
    EXPECT_EQ(m.get_i8("t.i8"), -100);
    EXPECT_EQ(m.get_u16("t.u16"), 60000);
    EXPECT_EQ(m.get_i16("t.i16"), -30000);
    EXPECT_EQ(m.get_u32("t.u32"), 4000000000u);
    EXPECT_EQ(m.get_i32("t.i32"), -2000000000);
    EXPECT_EQ(m.get_u64("t.u64"), 18000000000000000000ull);
    EXPECT_EQ(m.get_i64("t.i64"), -9000000000000000000ll);
    EXPECT_EQ(m.get_f32("t.f32"), 1e-3f);
    EXPECT_EQ(m.get_f64("t.f64"), -2.5e300);
    EXPECT_TRUE(m.get_bool("t.bool"));
    EXPECT_EQ(m.get_string("t.string"), "héllo ✓ 🦙");
    EXPECT_EQ(m.get_string_array("tokenizer.ggml.tokens"),
              (std::vector<std::string>{"<s>", "", "▁the", "<|im_end|>"}));
    const auto& types = m.get_array("tokenizer.ggml.token_type", GgufType::kI32);
    ASSERT_EQ(types.size(), 4u);
    EXPECT_EQ(types[3].i, -4);
    const auto& u32s = m.get_array("t.u32_array", GgufType::kU32);
    ASSERT_EQ(u32s.size(), 2u);
    EXPECT_EQ(u32s[1].u, 4294967295u);
    const auto& scores = m.get_array("tokenizer.ggml.scores", GgufType::kF32);
    ASSERT_EQ(scores.size(), 3u);
    EXPECT_EQ(static_cast<float>(scores[2].f), 3.25e-8f);
    const auto& nested = m.get_array("t.nested", GgufType::kArray);
    ASSERT_EQ(nested.size(), 2u);
    ASSERT_EQ(nested[1].items.size(), 2u);
    EXPECT_EQ(nested[1].items[1].u, 11u);

    ASSERT_EQ(f.tensors().size(), s.names.size());
    for (size_t k = 0; k < s.names.size(); ++k) {
      const GgufTensorInfo& t = f.tensors()[k];
      EXPECT_EQ(t.name, s.names[k]);
      EXPECT_EQ(t.dims, s.dims[k]);
      EXPECT_EQ(t.type->id, s.types[k]);
      EXPECT_EQ(t.offset % alignment, 0u) << t.name;
      ASSERT_EQ(t.size, s.data[k].size());
      EXPECT_EQ(std::string(reinterpret_cast<const char*>(f.data(t)), t.size), s.data[k]) << t.name;
    }
    // Like gguf-py and ggml, the last tensor is padded too.
    const GgufTensorInfo& last = f.tensors().back();
    EXPECT_EQ(f.file_size(),
              f.data_offset() + (last.offset + last.size + alignment - 1) / alignment * alignment);
  }
}

TEST(GgufWriter, FileWithoutTensors) {
  TempDir dir;
  GgufWriter w(dir.file("empty.gguf"));
  w.add_string("general.architecture", "llama");
  w.finish();
  GgufFile f(dir.file("empty.gguf"));
  EXPECT_TRUE(f.tensors().empty());
  EXPECT_EQ(f.metadata().get_string("general.architecture"), "llama");
}

void expect_invalid(const std::function<void()>& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error (expected one mentioning '" << part << "')";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument) << e.what();
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(GgufWriter, RefusesWhatReadersWouldReject) {
  TempDir dir;
  GgufWriter w(dir.file("bad.gguf"));
  w.add_u32("a", 1);
  expect_invalid([&] { w.add_u32("a", 2); }, "added twice");
  expect_invalid([&] { w.add_u64("general.alignment", 64); }, "power of two");
  expect_invalid([&] { w.add_u32("general.alignment", 48); }, "power of two");
  GgufValue mixed;
  mixed.type = GgufType::kArray;
  mixed.element_type = GgufType::kI32;
  mixed.items.resize(1);  // a u8 item
  expect_invalid([&] { w.add("mixed", mixed); }, "array of int32");
  expect_invalid([&] { w.add_tensor(std::string(64, 'x'), {32}, 0); }, "at most 63");
  expect_invalid([&] { w.add_tensor("q", {100, 2}, 12); }, "block size 256");
  expect_invalid([&] { w.add_tensor("q", {32, 1, 1, 1, 1}, 0); }, "5 dimensions");
  expect_invalid([&] { w.add_tensor("q", {32, -1}, 0); }, "negative");
  expect_invalid([&] { w.add_tensor("q", {32}, 4); }, "unknown ggml type");  // q4_2, removed
  EXPECT_EQ(w.add_tensor("t", {8}, 0), 32u);
  expect_invalid([&] { w.add_tensor("t", {8}, 0); }, "added twice");
  const char bytes[40] = {};
  w.write_tensor_data(bytes, 16);
  expect_invalid([&] { w.add_u32("late", 1); }, "before the first tensor data");
  expect_invalid([&] { w.add_tensor("late", {8}, 0); }, "before the first tensor data");
  expect_invalid([&] { w.write_tensor_data(bytes, 20); }, "more than the declared tensors hold");
}

TEST(GgufWriter, UnfinishedFileIsRemoved) {
  TempDir dir;
  const std::string path = dir.file("short.gguf");
  {
    GgufWriter w(path);
    w.add_tensor("a", {8}, 0);
    w.add_tensor("b", {8}, 0);
    const char bytes[8] = {};
    w.write_tensor_data(bytes, 8);
    EXPECT_TRUE(exists(path + ".partial"));
    expect_invalid([&] { w.finish(); }, "tensor 'a' got 8 of its 32 bytes; the 1 declared after it got none");
  }
  EXPECT_FALSE(exists(path));
  EXPECT_FALSE(exists(path + ".partial"));
  expect_invalid([&] { GgufWriter("/nonexistent-dir/x.gguf"); }, "cannot create");
}

// llama.cpp's gguf-py, where present (TORCHLLM_GGUF_PY, else the llama.cpp checkout the fixtures came from),
// reads our file with GGUFReader; tools/make_gguf_fixtures.py's dump() writes what it sees as JSON.
TEST(GgufWriter, GgufPyReadsWhatWeWrite) {
  const char* env = std::getenv("TORCHLLM_GGUF_PY");
  const std::string gguf_py = env ? env : "/tmp/nlc/llama.cpp/gguf-py";
  if (!exists(gguf_py + "/gguf/__init__.py")) GTEST_SKIP() << "no gguf-py at " << gguf_py;
  // gguf-py needs numpy, which not every python3 on PATH has.
  std::string python;
  const char* env_python = std::getenv("TORCHLLM_PYTHON");
  const std::vector<std::string> candidates = {env_python ? env_python : "", "python3", "/usr/bin/python3"};
  for (const std::string& candidate : candidates) {
    if (candidate.empty()) continue;
    const std::string probe =
        candidate + " -c \"import sys; sys.path.insert(0, '" + gguf_py + "'); import gguf\" >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) {
      python = candidate;
      break;
    }
  }
  if (python.empty())
    GTEST_SKIP() << "no python3 that can import gguf-py (it needs numpy); set TORCHLLM_PYTHON";
  TempDir dir;
  const std::string path = dir.file("sample.gguf");
  const Written s = write_sample(path, 64, 1 << 20);
  const std::string tools = kDataDir + "/../../tools";
  const std::string cmd = python + " -c \"import sys; sys.path[:0] = ['" + gguf_py + "', '" + tools +
                          "']; from make_gguf_fixtures import dump; dump('" + path + "')\"";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream in(path + ".json");
  const nlohmann::json seen = nlohmann::json::parse(in);

  GgufFile f(path);
  EXPECT_EQ(seen["version"], 3);
  EXPECT_EQ(seen["alignment"], 64);
  EXPECT_EQ(seen["data_offset"].get<uint64_t>(), f.data_offset());
  const auto& entries = f.metadata().entries;
  ASSERT_EQ(seen["metadata"].size(), entries.size());
  for (size_t k = 0; k < entries.size(); ++k) {
    const nlohmann::json& e = seen["metadata"][k];
    EXPECT_EQ(e["key"], entries[k].key);
    EXPECT_EQ(e["type"], gguf_type_name(entries[k].value.type)) << entries[k].key;
  }
  EXPECT_EQ(seen["metadata"][1]["value"], 200);
  EXPECT_EQ(seen["metadata"][6]["value"], -2000000000);
  EXPECT_EQ(seen["metadata"][12]["value"], "héllo ✓ 🦙");
  EXPECT_EQ(seen["metadata"][13]["value"], (nlohmann::json{"<s>", "", "▁the", "<|im_end|>"}));
  EXPECT_EQ(seen["metadata"][14]["value"], (nlohmann::json{3, 1, 1, -4}));
  EXPECT_EQ(seen["metadata"][17]["element_types"], (nlohmann::json{"array", "uint8"}));
  ASSERT_EQ(seen["tensors"].size(), s.names.size());
  for (size_t k = 0; k < s.names.size(); ++k) {
    const nlohmann::json& t = seen["tensors"][k];
    const GgufTensorInfo& ours = f.tensors()[k];
    EXPECT_EQ(t["name"], s.names[k]);
    EXPECT_EQ(t["dims"].get<std::vector<int64_t>>(), s.dims[k]);
    EXPECT_EQ(t["type"], s.types[k]);
    EXPECT_EQ(t["offset"].get<uint64_t>(), f.data_offset() + ours.offset) << s.names[k];
    EXPECT_EQ(t["n_bytes"].get<uint64_t>(), s.data[k].size());
    std::string hex;
    for (size_t b = 0; b < 16 && b < s.data[k].size(); ++b) {
      char buf[3];
      std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned char>(s.data[k][b]));
      hex += buf;
    }
    EXPECT_EQ(t["first_bytes"], hex) << s.names[k];
  }
}

}  // namespace
}  // namespace torchllm
