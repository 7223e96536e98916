#include "torchllm/model_config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tiny_checkpoint.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

Error::Kind config_error(const nlohmann::json& json) {
  try {
    parse_model_config(json, "config.json");
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no error for " << json.dump();
  return Error::Kind::kInternal;
}

TEST(ModelConfig, ReadsTheTransformers4Spelling) {
  ModelConfig c = parse_model_config(testing::tiny_config_json("llama3"), "config.json");
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.head_dim, 16);  // derived: hidden / heads
  EXPECT_EQ(c.num_kv_heads, 2);
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.type, RopeScaling::Type::kLlama3);
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 32.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 16);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.dtype, "float32");
}

TEST(ModelConfig, ReadsTheTransformers5Spelling) {
  nlohmann::json j = testing::tiny_config_json("llama3");
  j.erase("rope_scaling");
  j.erase("rope_theta");
  j.erase("torch_dtype");
  j["dtype"] = "bfloat16";
  j["rope_parameters"] = {{"rope_type", "linear"}, {"rope_theta", 1234.0}, {"factor", 2.0}};
  ModelConfig c = parse_model_config(j, "config.json");
  EXPECT_DOUBLE_EQ(c.rope_theta, 1234.0);
  EXPECT_EQ(c.rope_scaling.type, RopeScaling::Type::kLinear);
  EXPECT_EQ(c.dtype, "bfloat16");
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 99.0}};
  c = parse_model_config(j, "config.json");
  EXPECT_EQ(c.rope_scaling.type, RopeScaling::Type::kDefault);
  EXPECT_DOUBLE_EQ(c.rope_theta, 99.0);
}

TEST(ModelConfig, ExplicitHeadDimAndDefaults) {
  nlohmann::json j = testing::tiny_config_json("qwen3");
  j.erase("num_key_value_heads");
  ModelConfig c = parse_model_config(j, "config.json");
  EXPECT_EQ(c.head_dim, 32);
  EXPECT_EQ(c.num_kv_heads, c.num_heads);
  EXPECT_FALSE(c.sliding_window.has_value());
  EXPECT_EQ(parse_model_config(testing::tiny_config_json("mistral"), "c").sliding_window, 6);
}

TEST(ModelConfig, RejectsMissingOrIllTypedFields) {
  for (const char* key : {"hidden_size", "vocab_size", "num_hidden_layers", "num_attention_heads",
                          "intermediate_size", "architectures"}) {
    nlohmann::json j = testing::tiny_config_json("qwen2");
    j.erase(key);
    EXPECT_EQ(config_error(j), Error::Kind::kCorruptInput) << key;
  }
  nlohmann::json j = testing::tiny_config_json("qwen2");
  j["hidden_size"] = "64";
  EXPECT_EQ(config_error(j), Error::Kind::kCorruptInput);
  j = testing::tiny_config_json("qwen2");
  j["num_key_value_heads"] = 3;
  EXPECT_EQ(config_error(j), Error::Kind::kCorruptInput);
  EXPECT_EQ(config_error(nlohmann::json::array()), Error::Kind::kCorruptInput);
}

TEST(ModelConfig, RejectsWhatItCannotComputeFaithfully) {
  nlohmann::json j = testing::tiny_config_json("llama2");
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  EXPECT_EQ(config_error(j), Error::Kind::kUnsupported);
  j = testing::tiny_config_json("llama2");
  j["hidden_act"] = "gelu";
  EXPECT_EQ(config_error(j), Error::Kind::kUnsupported);
  j = testing::tiny_config_json("qwen2");
  j["use_sliding_window"] = true;
  EXPECT_EQ(config_error(j), Error::Kind::kUnsupported);
  j = testing::tiny_config_json("llama2");
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
  EXPECT_EQ(config_error(j), Error::Kind::kCorruptInput);
}

}  // namespace
}  // namespace torchllm
