// The dequantizers against llama.cpp's reference ones (ggml-base's to_float) on the blocks that
// tools/make_dequant_fixtures.c wrote: every float must have the same bits (a NaN only needs to be a NaN).
#include "model/quant/dequantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "torchllm/error.h"

namespace torchllm {
namespace {

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct Case {
  const char* name;  // ggml's type name, the fixture's file name
  GgmlType type;
};

class DequantizeTest : public ::testing::TestWithParam<Case> {};

TEST_P(DequantizeTest, MatchesLlamaCppBitForBit) {
  const Case c = GetParam();
  const std::string base = std::string(TORCHLLM_TEST_DATA_DIR) + "/gguf/dequant/" + c.name;
  const std::vector<uint8_t> blocks = read_bytes(base + ".blocks");
  const std::vector<uint8_t> expected_bytes = read_bytes(base + ".f32");
  const uint32_t type = static_cast<uint32_t>(c.type);
  const int64_t n = static_cast<int64_t>(expected_bytes.size() / 4);
  ASSERT_GT(n, 0);
  ASSERT_EQ(blocks.size(), static_cast<size_t>(n / dequant_block_elements(type) * dequant_block_bytes(type)));
  std::vector<uint32_t> expected(n);
  std::memcpy(expected.data(), expected_bytes.data(), expected_bytes.size());

  std::vector<float> out(n);
  dequantize(type, blocks.data(), out.data(), n);
  int mismatches = 0, nans = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t got;
    std::memcpy(&got, &out[i], 4);
    float want;
    std::memcpy(&want, &expected[i], 4);
    if (std::isnan(want)) {
      ++nans;
      if (std::isnan(out[i])) continue;
    }
    if (got != expected[i] && ++mismatches <= 5) {
      ADD_FAILURE() << c.name << " element " << i << ": got " << out[i] << " (0x" << std::hex << got
                    << "), llama.cpp " << want << " (0x" << expected[i] << ")" << std::dec;
    }
  }
  EXPECT_EQ(mismatches, 0);
  // The fixture must exercise real values, not only NaNs.
  EXPECT_LT(nans, n / 2);
}

INSTANTIATE_TEST_SUITE_P(Types, DequantizeTest,
                         ::testing::Values(Case{"f32", GgmlType::kF32}, Case{"f16", GgmlType::kF16},
                                           Case{"bf16", GgmlType::kBF16}, Case{"q8_0", GgmlType::kQ8_0},
                                           Case{"q4_0", GgmlType::kQ4_0}, Case{"q4_1", GgmlType::kQ4_1},
                                           Case{"q5_0", GgmlType::kQ5_0}, Case{"q5_1", GgmlType::kQ5_1},
                                           Case{"q4_K", GgmlType::kQ4_K}, Case{"q5_K", GgmlType::kQ5_K},
                                           Case{"q6_K", GgmlType::kQ6_K}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

TEST(Dequantize, UnsupportedTypeNamesTheSupportedOnes) {
  std::vector<float> out(32);
  const uint8_t block[64] = {};
  try {
    dequantize(/*IQ4_NL*/ 20, block, out.data(), 32);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("Q4_K"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(can_dequantize(20));
  EXPECT_TRUE(can_dequantize(14));
}

TEST(Dequantize, PartialBlockIsAnError) {
  std::vector<float> out(32);
  const uint8_t block[64] = {};
  EXPECT_THROW(dequantize(static_cast<uint32_t>(GgmlType::kQ4_0), block, out.data(), 31), Error);
}

}  // namespace
}  // namespace torchllm
