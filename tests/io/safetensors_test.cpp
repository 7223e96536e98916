#include "torchllm/safetensors.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tiny_checkpoint.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

std::string bytes_with_header(const std::string& json, size_t data_bytes) {
  std::string out(8, '\0');
  uint64_t len = json.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  return out + json + std::string(data_bytes, '\0');
}

Error::Kind parse_error_kind(const std::string& file) {
  try {
    parse_safetensors(reinterpret_cast<const uint8_t*>(file.data()), file.size(), "test.safetensors");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("test.safetensors"), std::string::npos) << e.what();
    return e.kind();
  }
  ADD_FAILURE() << "no error";
  return Error::Kind::kInternal;
}

TEST(Safetensors, RoundTripsEveryStorageDtype) {
  const std::string dir = testing::make_temp_dir("st");
  at::Tensor a = at::arange(12, at::kFloat).view({3, 4});
  at::Tensor b = at::arange(5, at::kFloat).to(at::kBFloat16);
  at::Tensor c = at::arange(6, at::kFloat).view({2, 3}).to(at::kHalf);
  write_safetensors(dir + "/x.safetensors", {{"a", a}, {"b", b}, {"c", c}}, {{"format", "pt"}});
  SafetensorsFile file(dir + "/x.safetensors");
  ASSERT_EQ(file.header().tensors.size(), 3u);
  EXPECT_EQ(file.header().metadata.at("format"), "pt");
  for (const TensorEntry& e : file.header().tensors) {
    at::Tensor expected = e.name == "a" ? a : e.name == "b" ? b : c;
    EXPECT_TRUE(file.view(e).equal(expected)) << e.name;
    EXPECT_EQ(file.view(e).scalar_type(), expected.scalar_type());
  }
}

TEST(Safetensors, AcceptsAMinimalValidHeader) {
  const std::string file = bytes_with_header(
      R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"BF16","shape":[0],"data_offsets":[8,8]}})",
      8);
  SafetensorsHeader h = parse_safetensors(reinterpret_cast<const uint8_t*>(file.data()), file.size(), "t");
  EXPECT_EQ(h.tensors.size(), 2u);
}

TEST(Safetensors, RejectsShortFile) { EXPECT_EQ(parse_error_kind("abc"), Error::Kind::kCorruptInput); }

TEST(Safetensors, RejectsHeaderLengthPastEnd) {
  std::string file = bytes_with_header("{}", 0);
  file[0] = 100;
  EXPECT_EQ(parse_error_kind(file), Error::Kind::kCorruptInput);
  file[7] = 0x7f;  // absurdly large
  EXPECT_EQ(parse_error_kind(file), Error::Kind::kCorruptInput);
}

TEST(Safetensors, RejectsBadJson) {
  EXPECT_EQ(parse_error_kind(bytes_with_header("{\"w\":", 0)), Error::Kind::kCorruptInput);
  EXPECT_EQ(parse_error_kind(bytes_with_header("[1,2]", 0)), Error::Kind::kCorruptInput);
  EXPECT_EQ(parse_error_kind(bytes_with_header(R"({"w":{"dtype":"F32","shape":[2]}})", 8)),
            Error::Kind::kCorruptInput);
  EXPECT_EQ(
      parse_error_kind(bytes_with_header(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8)),
      Error::Kind::kCorruptInput);
  EXPECT_EQ(
      parse_error_kind(bytes_with_header(R"({"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", 8)),
      Error::Kind::kCorruptInput);
}

TEST(Safetensors, RejectsUnknownAndUnsupportedDtypes) {
  EXPECT_EQ(
      parse_error_kind(bytes_with_header(R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8)),
      Error::Kind::kCorruptInput);
  EXPECT_EQ(
      parse_error_kind(bytes_with_header(R"({"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8)),
      Error::Kind::kUnsupported);
}

TEST(Safetensors, RejectsSizeMismatchOutOfRangeAndOverlap) {
  EXPECT_EQ(
      parse_error_kind(bytes_with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)),
      Error::Kind::kCorruptInput);
  EXPECT_EQ(
      parse_error_kind(bytes_with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 8)),
      Error::Kind::kCorruptInput);
  EXPECT_EQ(
      parse_error_kind(bytes_with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8)),
      Error::Kind::kCorruptInput);
  EXPECT_EQ(
      parse_error_kind(bytes_with_header(
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
          12)),
      Error::Kind::kCorruptInput);
  EXPECT_EQ(parse_error_kind(bytes_with_header(
                R"({"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,8]}})", 8)),
            Error::Kind::kCorruptInput);
}

TEST(Safetensors, MissingFileIsNotFound) {
  try {
    SafetensorsFile file("/nonexistent/model.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kNotFound);
  }
}

}  // namespace
}  // namespace torchllm
