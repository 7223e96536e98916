// The quantizers against llama.cpp's ggml_quantize_chunk on the rows that tools/make_quantize_fixtures.c
// wrote: every byte must be equal. Then what a reader gets back (our dequantizer, itself bit-exact with
// ggml's) must be within each format's step size of the input, and bad arguments must be refused with a
// usable message.
#include "model/quant/quantize_blocks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "model/quant/dequantize.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

constexpr int64_t kRowLength = 512;  // as in make_quantize_fixtures.c

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<float> read_input() {
  const std::vector<uint8_t> bytes = read_bytes(std::string(TORCHLLM_TEST_DATA_DIR) + "/quantize/input.f32");
  std::vector<float> x(bytes.size() / 4);
  std::memcpy(x.data(), bytes.data(), x.size() * 4);
  return x;
}

struct Case {
  const char* name;  // ggml's type name, the fixture's file name
  GgmlType type;
  // Largest |x - dequantize(quantize(x))| allowed, as a fraction of the largest |x| of the block (for the
  // K types: of the 256-element super-block)...
  double max_error_per_amax;
  // ...plus this many times 2^-25, half of fp16's smallest subnormal: the largest level times the largest
  // sub-block scale, what an fp16 scale rounded in the subnormal range can be off by in absolute terms.
  double subnormal_scale_levels;
};

// The bounds follow from each format's step (a fraction of the block's largest |x|): half a step for
// rounding, up to a whole step where the level range is asymmetric (q4_0: -8..7 with the largest value at -8,
// so its opposite reaches +8 and is clipped), plus the fp16 rounding of the scale (2^-11 relative, times the
// largest level) and of the min. The K types also quantize their sub-block scales and mins to 6 bits (q6_K:
// 8 bits) against the super-block's largest, and their scale search may clip the extreme element by up to a
// step: one step plus the scale's quantization error times the largest level.
constexpr double kHalf = 1.0 / 2048;  // fp16's relative rounding error
const Case kCases[] = {
    {"f32", GgmlType::kF32, 0.0, 0},
    {"f16", GgmlType::kF16, kHalf, 1},
    {"bf16", GgmlType::kBF16, 1.0 / 256, 0},
    {"q8_0", GgmlType::kQ8_0, (0.5 + 127 * kHalf) / 127, 128},
    {"q4_0", GgmlType::kQ4_0, (1.0 + 8 * kHalf) / 8, 8},
    {"q4_1", GgmlType::kQ4_1, 2.0 / 15 * (0.5 + 15 * kHalf) + kHalf, 16},
    {"q5_0", GgmlType::kQ5_0, (1.0 + 16 * kHalf) / 16, 16},
    {"q5_1", GgmlType::kQ5_1, 2.0 / 31 * (0.5 + 31 * kHalf) + kHalf, 32},
    {"q4_K", GgmlType::kQ4_K, 2.0 / 15 * (1.0 + 15.0 / 126) + 1.0 / 126, 16 * 64},
    {"q5_K", GgmlType::kQ5_K, 2.0 / 31 * (1.0 + 31.0 / 126) + 1.0 / 126, 32 * 64},
    {"q6_K", GgmlType::kQ6_K, 1.0 / 31 * (1.0 + 32.0 / 256 + 32 * kHalf), 32 * 128},
};

class QuantizeTest : public ::testing::TestWithParam<Case> {};

TEST_P(QuantizeTest, MatchesLlamaCppByteForByte) {
  const Case c = GetParam();
  const std::vector<float> x = read_input();
  const std::vector<uint8_t> expected =
      read_bytes(std::string(TORCHLLM_TEST_DATA_DIR) + "/quantize/" + c.name + ".blocks");
  const int64_t n = static_cast<int64_t>(x.size());
  ASSERT_EQ(n % kRowLength, 0);
  ASSERT_EQ(static_cast<int64_t>(expected.size()), quantized_bytes(c.type, n));

  std::vector<uint8_t> got(expected.size(), 0xCD);
  quantize_row(c.type, x.data(), got.data(), n);
  const int64_t block_bytes = dequant_block_bytes(static_cast<uint32_t>(c.type));
  const int64_t block_elements = dequant_block_elements(static_cast<uint32_t>(c.type));
  int mismatched_blocks = 0;
  for (size_t b = 0; b < expected.size() / block_bytes; ++b) {
    const auto first = got.begin() + b * block_bytes;
    const auto want = expected.begin() + b * block_bytes;
    const auto diff = std::mismatch(first, first + block_bytes, want);
    if (diff.first != first + block_bytes && ++mismatched_blocks <= 5) {
      ADD_FAILURE() << c.name << " block " << b << " (row " << b * block_elements / kRowLength << ", element "
                    << b * block_elements % kRowLength << "): byte " << (diff.first - first) << " is "
                    << int(*diff.first) << ", llama.cpp wrote " << int(*diff.second);
    }
  }
  EXPECT_EQ(mismatched_blocks, 0);

  // Blocks are independent: quantizing row by row gives the same bytes.
  std::vector<uint8_t> by_row(expected.size());
  const int64_t row_bytes = quantized_bytes(c.type, kRowLength);
  for (int64_t r = 0; r < n / kRowLength; ++r) {
    quantize_row(c.type, x.data() + r * kRowLength, by_row.data() + r * row_bytes, kRowLength);
  }
  EXPECT_TRUE(by_row == got);
}

TEST_P(QuantizeTest, RoundTripStaysWithinTheFormatsStep) {
  const Case c = GetParam();
  const std::vector<float> x = read_input();
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> q(quantized_bytes(c.type, n));
  quantize_row(c.type, x.data(), q.data(), n);
  std::vector<float> y(n);
  dequantize(static_cast<uint32_t>(c.type), q.data(), y.data(), n);

  const bool k_type = c.type == GgmlType::kQ4_K || c.type == GgmlType::kQ5_K || c.type == GgmlType::kQ6_K;
  const int64_t group = k_type ? 256 : 32;
  double worst = 0;  // the largest error as a fraction of the allowed one
  for (int64_t g = 0; g < n / group; ++g) {
    double amax = 0;
    for (int64_t i = g * group; i < (g + 1) * group; ++i) amax = std::max(amax, std::fabs(double(x[i])));
    // 2^-133: bf16's absolute step for float32 subnormals.
    const double allowed =
        c.max_error_per_amax * amax + c.subnormal_scale_levels * std::ldexp(1.0, -25) + std::ldexp(1.0, -133);
    for (int64_t i = g * group; i < (g + 1) * group; ++i) {
      const double err = std::fabs(double(x[i]) - double(y[i]));
      ASSERT_LE(err, allowed) << c.name << " element " << i << ": " << x[i] << " came back as " << y[i];
      if (allowed > 0) worst = std::max(worst, err / allowed);
    }
  }
  // The bound must be tight enough to mean something: the data reach a good part of it.
  if (c.max_error_per_amax > 0) {
    EXPECT_GT(worst, 0.2) << c.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Types, QuantizeTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

TEST(Quantize, PartialBlockIsRefused) {
  std::vector<float> x(300, 1.0f);
  std::vector<uint8_t> out(1024);
  try {
    quantize_row(GgmlType::kQ4_K, x.data(), out.data(), 300);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("256"), std::string::npos) << e.what();
  }
  EXPECT_THROW(quantize_row(GgmlType::kQ8_0, x.data(), out.data(), 33), Error);
  EXPECT_THROW(quantized_bytes(GgmlType::kQ4_0, -32), Error);
}

TEST(Quantize, UnsupportedTypeNamesTheSupportedOnes) {
  std::vector<float> x(256, 1.0f);
  std::vector<uint8_t> out(1024);
  try {
    quantize_row(static_cast<GgmlType>(10), x.data(), out.data(), 256);  // q2_K
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("q4_K"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(can_quantize(static_cast<GgmlType>(10)));
  EXPECT_TRUE(can_quantize(GgmlType::kQ6_K));
}

TEST(Quantize, NonFiniteInputIsRefusedForBlockTypes) {
  std::vector<float> x(32, 1.0f);
  x[7] = std::numeric_limits<float>::quiet_NaN();
  std::vector<uint8_t> out(128);
  try {
    quantize_row(GgmlType::kQ8_0, x.data(), out.data(), 32);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("element 7 is NaN"), std::string::npos) << e.what();
  }
  x[7] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(quantize_row(GgmlType::kQ4_0, x.data(), out.data(), 32), Error);
  // The float types store what they are given.
  EXPECT_NO_THROW(quantize_row(GgmlType::kF16, x.data(), out.data(), 32));
}

TEST(Quantize, TypeNames) {
  EXPECT_EQ(quantize_type_from_name("q4_k"), GgmlType::kQ4_K);
  EXPECT_EQ(quantize_type_from_name("Q8_0"), GgmlType::kQ8_0);
  EXPECT_EQ(quantize_type_from_name("f16"), GgmlType::kF16);
  EXPECT_STREQ(quantize_type_name(GgmlType::kQ6_K), "q6_K");
  try {
    quantize_type_from_name("iq2_xs");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("q8_0"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace torchllm
