#include "torchllm/model_shapes.h"

#include <gtest/gtest.h>

#include "torchllm/error.h"
#include "torchllm/model.h"

namespace torchllm {
namespace {

int64_t parameters(const ModelConfig& config) {
  int64_t total = 0;
  for (const TensorSpec& spec : checkpoint_tensor_specs(config)) {
    int64_t n = 1;
    for (int64_t d : spec.shape) n *= d;
    total += n;
  }
  return total;
}

TEST(ModelShapes, EveryShapeParses) {
  ASSERT_EQ(model_shape_names().size(), 10u);
  for (const std::string& name : model_shape_names()) EXPECT_GT(parameters(model_shape(name)), 0) << name;
}

// Parameter counts the model cards publish (safetensors metadata on the hub).
TEST(ModelShapes, ParameterCountsMatchThePublishedModels) {
  EXPECT_EQ(parameters(model_shape("llama2-7b")), 6738415616);
  EXPECT_EQ(parameters(model_shape("tinyllama-1.1b")), 1100048384);
  EXPECT_EQ(parameters(model_shape("llama3.1-8b")), 8030261248);
  EXPECT_EQ(parameters(model_shape("llama3.2-1b")), 1235814400);
  EXPECT_EQ(parameters(model_shape("qwen2.5-7b")), 7615616512);
}

TEST(ModelShapes, UnknownNameListsTheKnownOnes) {
  try {
    model_shape("gpt-5");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("qwen3-4b"), std::string::npos);
  }
}

}  // namespace
}  // namespace torchllm
