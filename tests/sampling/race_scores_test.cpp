#include "sampling/race_scores.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "sampling/seeded_generator.h"

namespace torchllm {
namespace {

// l - ln e with the logarithm correctly rounded to float32 (through float64) and the difference in float32.
float reference_score(float l, float e) { return l - static_cast<float>(std::log(static_cast<double>(e))); }

TEST(RaceScores, AreLogitsMinusTheRoundedLogOfTheNoise) {
  constexpr int64_t kCount = 100003;
  at::Generator generator = make_seeded_generator(c10::kCPU, 21);
  at::Tensor noise = at::empty({kCount}, at::kFloat);
  fill_exponential(noise, generator);
  float* e = noise.data_ptr<float>();
  // Also the ends of the normal range and values around 1, where ln changes sign.
  const std::vector<float> edges = {
      std::numeric_limits<float>::min(), 1e-30f, 0.5f, 1.0f, 1.0000001f, 2.0f, 36.7f, 1e30f,
      std::numeric_limits<float>::max()};
  for (size_t i = 0; i < edges.size(); ++i) e[i * 7] = edges[i];
  std::mt19937 rng(4);
  std::normal_distribution<float> normal(0.0f, 8.0f);
  std::vector<float> logits(kCount), scores(kCount);
  for (float& l : logits) l = normal(rng);
  race_scores_cpu(logits.data(), e, scores.data(), kCount);
  int64_t differing = 0;
  for (int64_t i = 0; i < kCount; ++i) {
    const float want = reference_score(logits[i], e[i]);
    if (scores[i] == want) continue;
    ++differing;
    // Only a rounding tie of the logarithm may differ: by one unit in the last place of ln e.
    const float ln = static_cast<float>(std::log(static_cast<double>(e[i])));
    ASSERT_LE(std::fabs(scores[i] - want), 1.01f * (std::nextafter(std::fabs(ln), 1e30f) - std::fabs(ln)) +
                                               (std::nextafter(std::fabs(want), 1e30f) - std::fabs(want)))
        << "value " << i << " noise " << e[i];
  }
  EXPECT_LT(differing, kCount / 1000);
}

TEST(RaceScores, OtherNoiseTakesLibmsLogAndAScoreDoesNotDependOnTheWidth) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> noise = {
      0.0f, inf, std::numeric_limits<float>::quiet_NaN(), 1e-40f, -1.0f, 2.0f, 0.25f, 3.0f, 1.5f, 0.0f, 7.0f};
  const std::vector<float> logits(noise.size(), 1.5f);
  std::vector<float> scores(noise.size());
  race_scores_cpu(logits.data(), noise.data(), scores.data(), static_cast<int64_t>(noise.size()));
  EXPECT_EQ(scores[0], inf);
  EXPECT_EQ(scores[1], -inf);
  EXPECT_TRUE(std::isnan(scores[2]));
  EXPECT_EQ(scores[3], 1.5f - std::log(1e-40f));
  EXPECT_TRUE(std::isnan(scores[4]));
  EXPECT_EQ(scores[9], inf);  // in the tail
  for (size_t i = 5; i < noise.size(); ++i) {
    if (i != 9) {
      EXPECT_EQ(scores[i], reference_score(1.5f, noise[i])) << i;
    }
  }
  // The same values in a narrower row (its tail cut at another place) give the same scores.
  for (int64_t width = 1; width <= static_cast<int64_t>(noise.size()); ++width) {
    std::vector<float> narrow(static_cast<size_t>(width));
    race_scores_cpu(logits.data(), noise.data(), narrow.data(), width);
    for (int64_t i = 0; i < width; ++i) {
      if (!std::isnan(scores[i])) {
        EXPECT_EQ(narrow[i], scores[i]) << "width " << width << " place " << i;
      }
    }
  }
}

}  // namespace
}  // namespace torchllm
