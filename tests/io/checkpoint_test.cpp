#include "torchllm/checkpoint.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>

#include "tiny_checkpoint.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

void write_index(const std::string& dir, const std::string& json) {
  std::ofstream(dir + "/model.safetensors.index.json") << json;
}

Error::Kind open_error(const std::string& dir) {
  try {
    Checkpoint checkpoint(dir);
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no error";
  return Error::Kind::kInternal;
}

TEST(Checkpoint, ReadsShardsThroughTheIndex) {
  const std::string dir = testing::make_temp_dir("ckpt");
  write_safetensors(dir + "/model-00001-of-00002.safetensors", {{"a", at::ones({2, 2})}});
  write_safetensors(dir + "/model-00002-of-00002.safetensors", {{"b", at::full({3}, 2.0).to(at::kBFloat16)}});
  write_index(
      dir,
      R"({"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}})");
  Checkpoint checkpoint(dir);
  EXPECT_EQ(checkpoint.files().size(), 2u);
  EXPECT_TRUE(checkpoint.contains("a"));
  at::Tensor b = at::zeros({3}, at::kFloat);
  checkpoint.load_into("b", b);
  EXPECT_TRUE(b.equal(at::full({3}, 2.0)));
  at::Tensor wrong = at::zeros({4});
  EXPECT_THROW(checkpoint.load_into("b", wrong), Error);
}

TEST(Checkpoint, RejectsInconsistentIndexes) {
  const std::string dir = testing::make_temp_dir("ckpt");
  write_safetensors(dir + "/s1.safetensors", {{"a", at::ones({2})}});
  write_index(dir, R"({"weight_map":{"a":"../s1.safetensors"}})");
  EXPECT_EQ(open_error(dir), Error::Kind::kCorruptInput);
  write_index(dir, R"({"weight_map":{"a":"s1.safetensors","b":"s1.safetensors"}})");
  EXPECT_EQ(open_error(dir), Error::Kind::kCorruptInput);
  write_index(dir, R"({"weight_map":{"a":"missing.safetensors"}})");
  EXPECT_EQ(open_error(dir), Error::Kind::kNotFound);
  write_index(dir, R"({"weight_map":{}})");
  EXPECT_EQ(open_error(dir), Error::Kind::kCorruptInput);
  write_index(dir, R"({"weight_map":)");
  EXPECT_EQ(open_error(dir), Error::Kind::kCorruptInput);
}

TEST(Checkpoint, RejectsATensorStoredInTwoShards) {
  const std::string dir = testing::make_temp_dir("ckpt");
  write_safetensors(dir + "/s1.safetensors", {{"a", at::ones({2})}});
  write_safetensors(dir + "/s2.safetensors", {{"a", at::ones({2})}, {"b", at::ones({1})}});
  write_index(dir, R"({"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})");
  EXPECT_EQ(open_error(dir), Error::Kind::kCorruptInput);
}

TEST(Checkpoint, EmptyDirectoryIsNotFound) {
  EXPECT_EQ(open_error(testing::make_temp_dir("ckpt")), Error::Kind::kNotFound);
}

}  // namespace
}  // namespace torchllm
