// bf16_gemv on every code path this CPU has, against at::linear in float32 rounded once to bfloat16.
#include "model/kernels/bf16_gemv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "model/kernels/amx_support.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

std::vector<Bf16GemvIsa> available_isas() {
  std::vector<Bf16GemvIsa> isas;
  for (int level = 0; level <= static_cast<int>(bf16_gemv_best_isa()); ++level) {
    isas.push_back(static_cast<Bf16GemvIsa>(level));
  }
  return isas;
}

// The exact product, as near as float32 gets, rounded once: what a kernel summing in float32 should return.
at::Tensor reference(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  const at::Tensor b = bias.defined() ? bias.to(at::kFloat) : bias;
  return at::linear(x.to(at::kFloat), weight.to(at::kFloat), b).to(at::kBFloat16);  // [rows, out]
}

// Allowed difference per output: one bfloat16 ulp (2^-7 of the value's power of two) where the float32 sums
// may round either side of a bf16 rounding boundary, plus float32 summation-order error over `in` terms,
// which matters only where the sum cancels to near zero: the classic bound in * 2^-24 * sum |x_k w_k|, which
// also covers the float32 reference's own rounding in practice.
at::Tensor tolerance(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& expected) {
  const at::Tensor magnitude = expected.to(at::kFloat).abs();                                  // [rows, out]
  const at::Tensor ulp = at::exp2(at::floor(at::log2(magnitude.clamp_min(1e-30)))) / 128;      // [rows, out]
  const at::Tensor abs_sum = at::linear(x.to(at::kFloat).abs(), weight.to(at::kFloat).abs());  // [rows, out]
  return ulp + abs_sum * (x.size(1) * 0x1p-24) + 1e-30;
}

void expect_close(const at::Tensor& actual, const at::Tensor& expected, const at::Tensor& tol,
                  const std::string& what) {
  ASSERT_EQ(actual.scalar_type(), at::kBFloat16) << what;
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  const at::Tensor diff = (actual.to(at::kFloat) - expected.to(at::kFloat)).abs();
  const at::Tensor excess = diff - tol;
  EXPECT_LE(excess.max().item<float>(), 0.0f) << what << ": max |diff| " << diff.max().item<float>()
                                              << " at flat index " << excess.argmax().item<int64_t>();
}

TEST(Bf16Gemv, MatchesFloat32LinearOnEveryPath) {
  at::manual_seed(7);
  const std::vector<std::pair<int64_t, int64_t>> shapes = {
      {1024, 3072}, {1024, 4096}, {3072, 1024}, {64, 7},   {32, 1},   {100, 13}, {31, 5},
      {1, 3},       {47, 129},    {1000, 37},   {128, 40}, {192, 48}, {96, 32}};
  for (const auto& [in, out] : shapes) {
    const at::Tensor weight = at::randn({out, in}).to(at::kBFloat16);  // [out, in]
    const at::Tensor bias = at::randn({out}).to(at::kBFloat16);        // [out]
    for (const int64_t rows : {1, 2, 3, 4, 5, 8, 11, 16, 17}) {
      const at::Tensor x = at::randn({rows, in}).to(at::kBFloat16);  // [rows, in]
      for (const bool with_bias : {false, true}) {
        const at::Tensor b = with_bias ? bias : at::Tensor();
        const at::Tensor expected = reference(x, weight, b);
        const at::Tensor tol = tolerance(x, weight, expected);
        for (const Bf16GemvIsa isa : available_isas()) {
          const std::string what = std::string(bf16_gemv_isa_name(isa)) + " rows " + std::to_string(rows) +
                                   " in " + std::to_string(in) + " out " + std::to_string(out) +
                                   (with_bias ? " bias" : "");
          expect_close(bf16_gemv(x, weight, b, isa), expected, tol, what);
        }
      }
    }
  }
}

// AMX takes whole blocks of 16 weight rows when the input width is a multiple of 64 (AVX512_BF16 the rest),
// any number of activation rows in chunks of 16 (the chunks share each block of weights), and a bias.
TEST(Bf16Gemv, AmxTilesTheWeightAndTheActivationsWhereTheyFit) {
  if (bf16_gemv_best_isa() < Bf16GemvIsa::kAmxBf16) GTEST_SKIP() << "this CPU or OS gives no AMX";
  at::manual_seed(11);
  const std::vector<std::pair<int64_t, int64_t>> shapes = {
      {64, 16}, {64, 17}, {128, 31}, {2048, 80}, {1024, 3072}};
  for (const auto& [in, out] : shapes) {
    const at::Tensor weight = at::randn({out, in}).to(at::kBFloat16);  // [out, in]
    const at::Tensor bias = at::randn({out}).to(at::kBFloat16);        // [out]
    for (const int64_t rows : {1, 7, 15, 16, 17, 31, 32, 33, 48}) {
      const at::Tensor x = at::randn({rows, in}).to(at::kBFloat16);  // [rows, in]
      const at::Tensor expected = reference(x, weight, bias);
      const std::string what =
          "amx rows " + std::to_string(rows) + " in " + std::to_string(in) + " out " + std::to_string(out);
      expect_close(bf16_gemv(x, weight, bias, Bf16GemvIsa::kAmxBf16), expected,
                   tolerance(x, weight, expected), what);
    }
  }
}

// AMX is the best path exactly where amx_available() says it may run, and TORCHLLM_SIMD=avx512 (a ctest runs
// this file so) turns it off.
TEST(Bf16Gemv, AmxFollowsAvailabilityAndTheSimdCap) {
  const char* cap = std::getenv("TORCHLLM_SIMD");
  if (cap != nullptr && std::string(cap) == "avx512") {
    EXPECT_FALSE(amx_available());
  }
  if (amx_available() && bf16_gemv_best_isa() >= Bf16GemvIsa::kAvx512Bf16) {
    EXPECT_EQ(bf16_gemv_best_isa(), Bf16GemvIsa::kAmxBf16);
    EXPECT_STREQ(bf16_gemv_isa_name(bf16_gemv_best_isa()), "amx");
  } else {
    EXPECT_NE(bf16_gemv_best_isa(), Bf16GemvIsa::kAmxBf16);
  }
}

// The default path is the best one, and its results are those of that path exactly.
TEST(Bf16Gemv, DefaultIsTheBestPath) {
  at::manual_seed(1);
  const at::Tensor x = at::randn({3, 96}).to(at::kBFloat16);        // [rows, in]
  const at::Tensor weight = at::randn({50, 96}).to(at::kBFloat16);  // [out, in]
  const at::Tensor bias = at::randn({50}).to(at::kBFloat16);        // [out]
  EXPECT_TRUE(at::equal(bf16_gemv(x, weight, bias), bf16_gemv(x, weight, bias, bf16_gemv_best_isa())));
}

// Zero inputs give the bias alone; infinities and NaNs propagate as float32 sums would.
TEST(Bf16Gemv, EdgeValues) {
  for (const Bf16GemvIsa isa : available_isas()) {
    const at::Tensor bias = at::arange(5, at::kFloat).to(at::kBFloat16);  // [out]
    const at::Tensor empty_in =
        bf16_gemv(at::zeros({2, 0}, at::kBFloat16), at::zeros({5, 0}, at::kBFloat16), bias, isa);  // [2, 5]
    EXPECT_TRUE(at::equal(empty_in, bias.expand({2, 5}))) << bf16_gemv_isa_name(isa);

    // 40 inputs: a tail chunk; 128 inputs and 16 weight rows: an AMX tile where there is one.
    for (const int64_t in : {40, 128}) {
      at::Tensor x = at::ones({1, in}, at::kBFloat16);             // [1, in]
      at::Tensor weight = at::ones({16, in}, at::kBFloat16);       // [16, in]
      weight[1][in - 1] = std::numeric_limits<float>::infinity();  // in the last chunk
      weight[2][0] = std::numeric_limits<float>::quiet_NaN();
      weight[3][0] = -std::numeric_limits<float>::infinity();
      weight[3][1] = std::numeric_limits<float>::infinity();                        // inf - inf
      const at::Tensor y = bf16_gemv(x, weight, at::Tensor(), isa).to(at::kFloat);  // [1, 16]
      const std::string what = std::string(bf16_gemv_isa_name(isa)) + " in " + std::to_string(in);
      EXPECT_EQ(y[0][0].item<float>(), static_cast<float>(in)) << what;
      EXPECT_TRUE(std::isinf(y[0][1].item<float>())) << what;
      EXPECT_TRUE(std::isnan(y[0][2].item<float>())) << what;
      EXPECT_TRUE(std::isnan(y[0][3].item<float>())) << what;
    }
  }
}

TEST(Bf16Gemv, AppliesOnlyToSmallContiguousBf16CpuProducts) {
  const int64_t max_rows = bf16_gemv_max_rows(bf16_gemv_best_isa());
  ASSERT_LE(max_rows, kBf16GemvMaxRows);
  const at::Tensor weight = at::ones({8, 64}, at::kBFloat16);  // [out, in]
  if (max_rows == 0) {                                         // scalar code never beats at::linear
    EXPECT_FALSE(bf16_gemv_applies(at::ones({1, 64}, at::kBFloat16), weight));
    return;
  }
  const at::Tensor x = at::ones({1, 64}, at::kBFloat16);  // [rows, in]
  EXPECT_TRUE(bf16_gemv_applies(x, weight));
  EXPECT_TRUE(bf16_gemv_applies(at::ones({max_rows, 64}, at::kBFloat16), weight));
  EXPECT_FALSE(bf16_gemv_applies(at::ones({max_rows + 1, 64}, at::kBFloat16), weight));
  EXPECT_FALSE(bf16_gemv_applies(at::ones({0, 64}, at::kBFloat16), weight));
  EXPECT_FALSE(bf16_gemv_applies(x.to(at::kFloat), weight));
  EXPECT_FALSE(bf16_gemv_applies(x, weight.to(at::kFloat)));
  EXPECT_FALSE(bf16_gemv_applies(x, weight.to(at::kHalf)));
  EXPECT_FALSE(bf16_gemv_applies(at::ones({64, 2}, at::kBFloat16).t().narrow(0, 0, 1), weight));  // strided x
  EXPECT_FALSE(bf16_gemv_applies(x, at::ones({64, 8}, at::kBFloat16).t()));      // non-contiguous weight
  EXPECT_FALSE(bf16_gemv_applies(x, at::ones({8, 32}, at::kBFloat16)));          // in mismatch
  EXPECT_FALSE(bf16_gemv_applies(at::ones({1, 1, 64}, at::kBFloat16), weight));  // not 2-D
  EXPECT_FALSE(bf16_gemv_applies(x, at::Tensor()));
}

TEST(Bf16Gemv, MaxRowsPerPath) {
  EXPECT_EQ(bf16_gemv_max_rows(Bf16GemvIsa::kScalar), 0);
  EXPECT_EQ(bf16_gemv_max_rows(Bf16GemvIsa::kAvx2), 4);
  EXPECT_EQ(bf16_gemv_max_rows(Bf16GemvIsa::kAvx512), 4);
  EXPECT_EQ(bf16_gemv_max_rows(Bf16GemvIsa::kAvx512Bf16), kBf16GemvMaxRows);
  EXPECT_EQ(bf16_gemv_max_rows(Bf16GemvIsa::kAmxBf16), kBf16GemvMaxRows);
}

TEST(Bf16Gemv, RejectsAMismatchedBias) {
  const at::Tensor x = at::ones({1, 64}, at::kBFloat16);       // [rows, in]
  const at::Tensor weight = at::ones({8, 64}, at::kBFloat16);  // [out, in]
  EXPECT_THROW(bf16_gemv(x, weight, at::ones({7}, at::kBFloat16)), Error);
  EXPECT_THROW(bf16_gemv(x, weight, at::ones({8}, at::kFloat)), Error);
}

}  // namespace
}  // namespace torchllm
