#include "sampling/greedy_argmax.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <vector>

namespace torchllm {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

void expect_same_as_libtorch(const at::Tensor& logits, const std::string& what) {
  const at::Tensor ours = greedy_argmax(logits);
  const at::Tensor theirs = logits.argmax(1);
  ASSERT_EQ(ours.scalar_type(), at::kLong) << what;
  ASSERT_EQ(ours.sizes(), theirs.sizes()) << what;
  for (int64_t r = 0; r < logits.size(0); ++r) {
    EXPECT_EQ(ours[r].item<int64_t>(), theirs[r].item<int64_t>()) << what << ", row " << r;
  }
}

// Values drawn from a handful, so that rows hold many ties, plus the special values placed at random.
at::Tensor random_logits(std::mt19937& rng, int64_t rows, int64_t vocab, bool specials) {
  static const std::vector<float> kValues = {-3.0f, -1.0f, -0.0f, 0.0f, 0.5f, 2.0f, 2.0f, 7.25f};
  std::uniform_int_distribution<size_t> pick(0, kValues.size() - 1);
  std::uniform_int_distribution<int64_t> place(0, vocab - 1);
  at::Tensor x = at::empty({rows, vocab}, at::kFloat);
  float* p = x.data_ptr<float>();
  for (int64_t i = 0; i < rows * vocab; ++i) p[i] = kValues[pick(rng)];
  if (specials) {
    for (int64_t r = 0; r < rows; ++r) {
      switch (rng() % 5) {
        case 0:
          p[r * vocab + place(rng)] = kInf;
          break;
        case 1:
          p[r * vocab + place(rng)] = kNaN;
          p[r * vocab + place(rng)] = kNaN;
          break;
        case 2:
          for (int64_t i = 0; i < vocab; ++i) p[r * vocab + i] = -kInf;
          break;
        case 3:
          p[r * vocab + place(rng)] = 1e30f;
          break;
        default:
          break;
      }
    }
  }
  return x;
}

TEST(GreedyArgmax, EqualsLibtorchOnTiesAndSpecialValues) {
  std::mt19937 rng(7);
  for (int64_t vocab : {1, 2, 15, 64, 65, 255, 256, 257, 511, 512, 513, 700, 1000, 4099}) {
    for (int64_t rows : {1, 3, 17}) {
      for (bool specials : {false, true}) {
        for (int round = 0; round < 4; ++round) {
          expect_same_as_libtorch(random_logits(rng, rows, vocab, specials),
                                  "vocab " + std::to_string(vocab) + ", rows " + std::to_string(rows));
        }
      }
    }
  }
}

TEST(GreedyArgmax, FindsTheMaximumAnywhereInARealVocabulary) {
  const int64_t vocab = 151936;
  at::Tensor x = at::randn({4, vocab}, at::kFloat);  // [4, vocab]
  // The largest value at the start, inside a span, in the tail, and tied with an earlier copy.
  x[0][0] = 100.0f;
  x[1][70001] = 100.0f;
  x[2][vocab - 1] = 100.0f;
  x[3][vocab - 5] = 100.0f;
  x[3][256 * 9 + 3] = 100.0f;
  const at::Tensor ids = greedy_argmax(x);
  EXPECT_EQ(ids[0].item<int64_t>(), 0);
  EXPECT_EQ(ids[1].item<int64_t>(), 70001);
  EXPECT_EQ(ids[2].item<int64_t>(), vocab - 1);
  EXPECT_EQ(ids[3].item<int64_t>(), 256 * 9 + 3);
  expect_same_as_libtorch(x, "randn");
}

TEST(GreedyArgmax, NaNWinsAtItsFirstPlace) {
  at::Tensor x = at::zeros({2, 300}, at::kFloat);
  x[0][10] = kInf;
  x[0][270] = kNaN;  // in the tail, after a span that held +inf
  x[0][290] = kNaN;
  x[1][70] = kNaN;
  x[1][5] = 1.0f;
  const at::Tensor ids = greedy_argmax(x);
  EXPECT_EQ(ids[0].item<int64_t>(), 270);
  EXPECT_EQ(ids[1].item<int64_t>(), 70);
}

TEST(GreedyArgmax, TakesStridedAndOtherTypes) {
  std::mt19937 rng(3);
  const at::Tensor wide = random_logits(rng, 6, 400, true);
  expect_same_as_libtorch(wide.narrow(1, 7, 333), "a column slice");
  expect_same_as_libtorch(wide.t().contiguous().t(), "column-major");
  expect_same_as_libtorch(wide.to(at::kDouble), "float64, through libtorch");
}

}  // namespace
}  // namespace torchllm
