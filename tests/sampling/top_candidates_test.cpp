#include "sampling/top_candidates.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <string>
#include <vector>

namespace torchllm {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Logits drawn from a few values (many ties), some rows mostly -inf (fewer finite values than asked for).
at::Tensor tied_logits(std::mt19937& rng, int64_t rows, int64_t vocab) {
  static const std::vector<float> kValues = {-2.0f, -0.5f, 0.0f, 0.25f, 1.0f, 1.0f, 3.5f, -kInf};
  std::uniform_int_distribution<size_t> pick(0, kValues.size() - 1);
  at::Tensor x = at::empty({rows, vocab}, at::kFloat);
  float* p = x.data_ptr<float>();
  for (int64_t r = 0; r < rows; ++r) {
    const bool sparse = r % 3 == 2;
    for (int64_t i = 0; i < vocab; ++i)
      p[r * vocab + i] = sparse && rng() % 8 != 0 ? -kInf : kValues[pick(rng)];
  }
  return x;
}

// Against a stable descending sort of each row (equal logits keep increasing ids): the first counts[r]
// places, then -inf.
void expect_sorted_prefix(const at::Tensor& logits, const std::vector<int64_t>& counts, int64_t width,
                          const std::string& what) {
  at::Tensor values, ids;
  top_candidates_cpu(logits, counts.data(), width, values, ids);
  ASSERT_EQ(values.sizes(), (std::vector<int64_t>{logits.size(0), width})) << what;
  at::Tensor sorted, order;
  std::tie(sorted, order) = at::sort(logits, /*stable=*/true, /*dim=*/1, /*descending=*/true);
  for (int64_t r = 0; r < logits.size(0); ++r) {
    for (int64_t p = 0; p < width; ++p) {
      if (p < counts[static_cast<size_t>(r)]) {
        ASSERT_EQ(values[r][p].item<float>(), sorted[r][p].item<float>())
            << what << " row " << r << " place " << p;
        ASSERT_EQ(ids[r][p].item<int64_t>(), order[r][p].item<int64_t>())
            << what << " row " << r << " place " << p;
      } else {
        ASSERT_EQ(values[r][p].item<float>(), -kInf) << what << " row " << r << " place " << p;
      }
    }
  }
}

TEST(TopCandidates, AreTheStableSortsPrefixWithTiesToTheLowerIds) {
  std::mt19937 rng(5);
  for (const int64_t vocab : {1, 7, 16, 17, 100, 1000, 5003}) {
    const at::Tensor logits = tied_logits(rng, 6, vocab);
    for (const int64_t k : {int64_t{1}, int64_t{2}, int64_t{5}, int64_t{40}, int64_t{300}, vocab}) {
      if (k > vocab) continue;
      std::vector<int64_t> counts(6, k);
      expect_sorted_prefix(logits, counts, k, "vocab " + std::to_string(vocab) + " k " + std::to_string(k));
      // Rows of different counts in one call, narrower than the width.
      for (size_t r = 0; r < counts.size(); ++r) counts[r] = 1 + static_cast<int64_t>(rng() % k);
      expect_sorted_prefix(logits, counts, k, "mixed counts, vocab " + std::to_string(vocab));
    }
  }
}

TEST(TopCandidates, FindsTheLeadersOfARealVocabulary) {
  const int64_t vocab = 151936;
  const at::Tensor logits = at::randn({3, vocab}, at::kFloat) * 3;  // [3, vocab]
  logits[1][vocab - 1] = 100.0f;                                    // the best token last
  logits[2].fill_(0.5f);                                            // every token tied
  expect_sorted_prefix(logits, {1024, 1024, 1024}, 1024, "leading 1024");
  expect_sorted_prefix(logits, {40, 20, 40}, 40, "top_k 40");
}

TEST(TopCandidates, NaNComesFirstAndStridedRowsWork) {
  at::Tensor x = at::zeros({2, 50}, at::kFloat);
  x[0][30] = std::numeric_limits<float>::quiet_NaN();
  x[0][10] = std::numeric_limits<float>::quiet_NaN();
  x[0][20] = 5.0f;
  const std::vector<int64_t> counts = {3, 3};
  at::Tensor values, ids;
  top_candidates_cpu(x, counts.data(), 3, values, ids);
  EXPECT_EQ(ids[0][0].item<int64_t>(), 10);
  EXPECT_EQ(ids[0][1].item<int64_t>(), 30);
  EXPECT_EQ(ids[0][2].item<int64_t>(), 20);
  EXPECT_EQ(ids[1][2].item<int64_t>(), 2);  // all tied: the lowest ids
  std::mt19937 rng(9);
  const at::Tensor wide = tied_logits(rng, 4, 600);
  expect_sorted_prefix(wide.narrow(1, 50, 500), {7, 7, 7, 7}, 7, "a column slice");
}

void expect_stable_sort(const at::Tensor& logits, const std::string& what) {
  at::Tensor values, ids, sorted, order;
  sorted_candidates_cpu(logits, values, ids);
  std::tie(sorted, order) = at::sort(logits, /*stable=*/true, /*dim=*/1, /*descending=*/true);
  ASSERT_TRUE(at::equal(ids, order)) << what;
  // Values compared as ids pick them (NaN != NaN, and -0 vs 0 would pass an equality test anyway).
  ASSERT_TRUE(at::equal(values.view(at::kInt), logits.gather(1, order).view(at::kInt))) << what;
}

TEST(SortedCandidates, AreLibtorchsStableDescendingSort) {
  std::mt19937 rng(8);
  for (const int64_t vocab : {1, 2, 9, 2047, 2049, 5003}) {
    expect_stable_sort(tied_logits(rng, 5, vocab), "tied, vocab " + std::to_string(vocab));
  }
  at::Tensor specials = at::randn({3, 3000}, at::kFloat);
  float* p = specials.data_ptr<float>();
  for (int64_t i = 0; i < 3 * 3000; i += 97) p[i] = std::numeric_limits<float>::quiet_NaN();
  for (int64_t i = 5; i < 3 * 3000; i += 89) p[i] = kInf;
  for (int64_t i = 7; i < 3 * 3000; i += 83) p[i] = -kInf;
  for (int64_t i = 11; i < 3 * 3000; i += 31) p[i] = i % 2 == 0 ? 0.0f : -0.0f;
  for (int64_t i = 13; i < 3 * 3000; i += 53) p[i] = -1e-40f;  // subnormals
  expect_stable_sort(specials, "NaN, infinities, signed zeros, subnormals");
  expect_stable_sort(at::randn({2, 151936}, at::kFloat) * 4, "a real vocabulary");
  expect_stable_sort(at::full({2, 1000}, 0.25f), "one value");
}

}  // namespace
}  // namespace torchllm
