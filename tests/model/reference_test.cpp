// Against Hugging Face transformers: fixtures made by tools/make_reference.py (random-weight checkpoints
// saved with save_pretrained, HF's fp32 logits for a prompt and HF's greedy continuation).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "reference_fixtures.h"
#include "tiny_checkpoint.h"
#include "torchllm/json_file.h"
#include "torchllm/model.h"

namespace torchllm {
namespace {

const std::string kReferenceDir = testing::reference_fixtures_dir();

std::vector<int64_t> greedy(const Transformer& model, const std::vector<int64_t>& prompt, size_t count) {
  KvCache cache = model.make_cache(1, static_cast<int64_t>(prompt.size() + count));
  std::vector<int64_t> out;
  at::Tensor logits = model.forward({{0, 0, prompt}}, cache);
  while (out.size() < count) {
    out.push_back(logits[0].argmax().item<int64_t>());
    if (out.size() < count) {
      logits =
          model.forward({{0, static_cast<int64_t>(prompt.size() + out.size() - 1), {out.back()}}}, cache);
    }
  }
  return out;
}

class HuggingFaceReference : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = kReferenceDir + "/" + GetParam();
    ref_ = read_json_file(dir_ + "/reference.json");
    prompt_ = ref_.at("prompt_ids").get<std::vector<int64_t>>();
    greedy_ = ref_.at("greedy_ids").get<std::vector<int64_t>>();
  }
  std::string dir_;
  nlohmann::json ref_;
  std::vector<int64_t> prompt_, greedy_;
};

TEST_P(HuggingFaceReference, Fp32LogitsMatchWithin1e4) {
  auto model = Transformer::load(dir_, LoadOptions{testing::test_device(), "fp32"});
  KvCache cache = model->make_cache(1, static_cast<int64_t>(prompt_.size()));
  at::Tensor ours = model->forward({{0, 0, prompt_, true}}, cache);
  const auto rows = ref_.at("logits").get<std::vector<std::vector<float>>>();
  at::Tensor theirs = at::empty({static_cast<int64_t>(rows.size()), ours.size(1)});
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(static_cast<int64_t>(rows[i].size()), ours.size(1));
    theirs[i].copy_(at::tensor(rows[i]));
  }
  const double max_abs = (ours.cpu() - theirs).abs().max().item<double>();
  RecordProperty("max_abs_logit_diff", std::to_string(max_abs));
  EXPECT_LE(max_abs, 1e-4) << GetParam();
}

TEST_P(HuggingFaceReference, Fp32GreedyContinuationIsIdentical) {
  auto model = Transformer::load(dir_, LoadOptions{testing::test_device(), "fp32"});
  EXPECT_EQ(greedy(*model, prompt_, greedy_.size()), greedy_);
}

TEST_P(HuggingFaceReference, Bf16GreedyAgreesWithTheFixture) {
  auto model = Transformer::load(dir_, LoadOptions{testing::test_device(), "bf16"});
  EXPECT_EQ(greedy(*model, prompt_, greedy_.size()), greedy_);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HuggingFaceReference,
                         ::testing::ValuesIn(testing::reference_fixture_names()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(HuggingFaceReference);

// The fixtures are committed: one per supported variant (tools/make_reference.py remakes them).
TEST(HuggingFaceReferenceFixtures, ArePresent) {
  EXPECT_EQ(testing::reference_fixture_names(),
            (std::vector<std::string>{"llama-linear", "llama2", "llama3", "mistral", "qwen2", "qwen3"}))
      << "fixtures under " << kReferenceDir;
}

}  // namespace
}  // namespace torchllm
