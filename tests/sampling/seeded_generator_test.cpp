#include "sampling/seeded_generator.h"

#include <ATen/ATen.h>
#include <ATen/core/MT19937RNGEngine.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace torchllm {
namespace {

// What fill_exponential promises on a CPU generator, written plainly: each value takes two 32-bit outputs of
// the generator's Mersenne Twister (high word first), y = 1 - (top 52 bits) 2^-52, and -ln y by libm.
std::vector<float> reference_exponentials(uint64_t seed, int64_t n) {
  at::mt19937 engine(seed);
  std::vector<float> out(static_cast<size_t>(n));
  for (auto& v : out) {
    const uint64_t high = engine();
    const uint64_t draw = high << 32 | engine();
    const double y = 1.0 - static_cast<double>(draw >> 12) * 0x1p-52;
    v = std::max(static_cast<float>(-std::log(y)), std::numeric_limits<float>::min());
  }
  return out;
}

TEST(SeededGenerator, CpuExponentialsAreTheEnginesDrawsThroughLibmsLog) {
  constexpr int64_t kCount = 200003;  // not a whole number of vector lanes
  at::Generator generator = make_seeded_generator(c10::kCPU, 5);
  const at::Tensor first = at::empty({kCount}, at::kFloat), second = at::empty({kCount}, at::kFloat);
  fill_exponential(first, generator);
  fill_exponential(second, generator);  // the generator moved on: the next kCount values
  const std::vector<float> expected = reference_exponentials(5, 2 * kCount);
  int64_t differing = 0;
  for (int64_t i = 0; i < 2 * kCount; ++i) {
    const float got = (i < kCount ? first : second)[i % kCount].item<float>();
    const float want = expected[static_cast<size_t>(i)];
    if (got != want) {
      ++differing;
      // The series is within 1e-16 of ln: a difference is a float rounding tie, one unit in the last place.
      ASSERT_EQ(got, std::nextafter(want, got)) << "value " << i;
    }
  }
  EXPECT_LT(differing, 2 * kCount / 10000);
}

TEST(SeededGenerator, CpuExponentialsFollowExpOne) {
  constexpr int64_t kCount = 1000000;
  at::Generator generator = make_seeded_generator(c10::kCPU, 99);
  const at::Tensor e = at::empty({kCount}, at::kFloat);
  fill_exponential(e, generator);
  EXPECT_TRUE(e.gt(0).all().item<bool>());
  EXPECT_TRUE(e.isfinite().all().item<bool>());
  EXPECT_NEAR(e.to(at::kDouble).mean().item<double>(), 1.0, 0.005);  // standard error 0.001
  // P(E < t) = 1 - e^-t, down in the small values that decide whether a rare token wins a race.
  for (const double t : {1e-5, 1e-3, 0.1, 0.5, 2.0, 8.0}) {
    const double p = -std::expm1(-t);
    const double count = e.lt(t).sum().item<double>();
    const double sigma = std::sqrt(kCount * p * (1 - p));
    EXPECT_NEAR(count, kCount * p, 5 * sigma + 1) << "t = " << t;
  }
}

TEST(SeededGenerator, SameSeedSameNoiseAndOtherLayoutsStillFill) {
  at::Generator a = make_seeded_generator(c10::kCPU, 7), b = make_seeded_generator(c10::kCPU, 7);
  const at::Tensor x = at::empty({1000}, at::kFloat), y = at::empty({1000}, at::kFloat);
  fill_exponential(x, a);
  fill_exponential(y, b);
  EXPECT_TRUE(at::equal(x, y));
  // A strided view and a float64 tensor go through libtorch's exponential_.
  const at::Tensor wide = at::zeros({1000, 2}, at::kFloat), doubles = at::zeros({100}, at::kDouble);
  fill_exponential(wide.select(1, 0), a);
  fill_exponential(doubles, a);
  EXPECT_TRUE(wide.select(1, 0).gt(0).all().item<bool>());
  EXPECT_TRUE(wide.select(1, 1).eq(0).all().item<bool>());
  EXPECT_TRUE(doubles.gt(0).all().item<bool>());
}

}  // namespace
}  // namespace torchllm
