#include "sampling/seeded_generator.h"

#include <ATen/ATen.h>
#include <ATen/core/MT19937RNGEngine.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace torchllm {
namespace {

// What fill_exponential promises on a CPU generator, written plainly: each call takes one 64-bit draw of the
// generator's Mersenne Twister (two 32-bit outputs, high word first, as random64), value i is SplitMix64's
// output i + 1 from that seed, y = 1 - (its top 52 bits) 2^-52, and the value -ln y by libm.
std::vector<float> reference_exponentials(at::mt19937& engine, int64_t n) {
  const uint64_t high = engine();
  const uint64_t seed = high << 32 | engine();
  std::vector<float> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    uint64_t z = seed + static_cast<uint64_t>(i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const double y = 1.0 - static_cast<double>(z >> 12) * 0x1p-52;
    out[static_cast<size_t>(i)] =
        std::max(static_cast<float>(-std::log(y)), std::numeric_limits<float>::min());
  }
  return out;
}

TEST(SeededGenerator, CpuExponentialsAreTheSeededStreamThroughLibmsLog) {
  constexpr int64_t kCount = 200003;  // not a whole number of vector lanes
  at::Generator generator = make_seeded_generator(c10::kCPU, 5);
  at::mt19937 engine(5);
  int64_t differing = 0;
  for (int call = 0; call < 3; ++call) {  // the generator moves on by one draw a call
    const int64_t n = call == 2 ? 7 : kCount;
    const at::Tensor got = at::empty({n}, at::kFloat);
    fill_exponential(got, generator);
    const std::vector<float> want = reference_exponentials(engine, n);
    for (int64_t i = 0; i < n; ++i) {
      const float g = got[i].item<float>(), w = want[static_cast<size_t>(i)];
      if (g != w) {
        ++differing;
        // The series is within 1e-16 of ln: a difference is a float rounding tie, one unit in the last place.
        ASSERT_EQ(g, std::nextafter(w, g)) << "call " << call << " value " << i;
      }
    }
  }
  EXPECT_LT(differing, 2 * kCount / 10000);
}

// A row's first values do not depend on how many it fills (the leading candidates of top_p take the first
// of the sorted vocabulary's draws).
TEST(SeededGenerator, APrefixIsTheSameWhateverTheCount) {
  at::Generator a = make_seeded_generator(c10::kCPU, 3), b = make_seeded_generator(c10::kCPU, 3);
  const at::Tensor many = at::empty({100000}, at::kFloat), few = at::empty({1024}, at::kFloat);
  fill_exponential(many, a);
  fill_exponential(few, b);
  EXPECT_TRUE(at::equal(many.narrow(0, 0, 1024), few));
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
