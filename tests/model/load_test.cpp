#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>

#include "tiny_checkpoint.h"
#include "torchllm/error.h"
#include "torchllm/model.h"
#include "torchllm/safetensors.h"

namespace torchllm {
namespace {

std::string checkpoint_dir(const std::string& variant, const nlohmann::json& config) {
  const std::string dir = testing::make_temp_dir("load-" + variant);
  testing::write_tiny_checkpoint(dir, config, 3);
  return dir;
}

Error expect_load_error(const std::string& dir) {
  try {
    Transformer::load(dir, LoadOptions{"cpu", "fp32"});
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "model in " << dir << " loaded";
  return Error::internal("loaded");
}

// Rewrites model.safetensors through `edit`, which may add, drop or replace tensors.
void edit_tensors(const std::string& dir,
                  const std::function<void(std::vector<std::pair<std::string, at::Tensor>>&)>& edit) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  {
    SafetensorsFile file(dir + "/model.safetensors");
    for (const TensorEntry& e : file.header().tensors) tensors.emplace_back(e.name, file.view(e).clone());
  }
  edit(tensors);
  write_safetensors(dir + "/model.safetensors", tensors);
}

TEST(Load, UnsupportedArchitectureNamesTheSupportedOnes) {
  nlohmann::json config = testing::tiny_config_json("llama2");
  const std::string dir = checkpoint_dir("llama2", config);
  config["architectures"] = {"FalconForCausalLM"};
  std::ofstream(dir + "/config.json") << config.dump();
  Error e = expect_load_error(dir);
  EXPECT_EQ(e.kind(), Error::Kind::kUnsupported);
  EXPECT_NE(std::string(e.what()).find("Qwen3ForCausalLM"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("GPT2LMHeadModel"), std::string::npos) << e.what();
}

TEST(Load, MissingUnexpectedAndMisshapenTensorsAreErrors) {
  const nlohmann::json config = testing::tiny_config_json("qwen3");
  std::string dir = checkpoint_dir("qwen3", config);
  edit_tensors(dir, [](auto& t) { t.erase(t.begin() + 3); });
  Error e = expect_load_error(dir);
  EXPECT_EQ(e.kind(), Error::Kind::kCorruptInput);
  EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();

  dir = checkpoint_dir("qwen3", config);
  edit_tensors(dir, [](auto& t) { t.emplace_back("model.layers.0.mlp.extra.weight", at::ones({2})); });
  e = expect_load_error(dir);
  EXPECT_NE(std::string(e.what()).find("unexpected tensor 'model.layers.0.mlp.extra.weight'"),
            std::string::npos);

  dir = checkpoint_dir("qwen3", config);
  edit_tensors(dir, [](auto& t) {
    for (auto& [name, tensor] : t) {
      if (name == "model.norm.weight") tensor = at::ones({63});
    }
  });
  e = expect_load_error(dir);
  EXPECT_NE(std::string(e.what()).find("model.norm.weight"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("[63]"), std::string::npos) << e.what();
}

TEST(Load, IgnoresRotaryBuffersAndATiedHeadCopy) {
  const nlohmann::json config = testing::tiny_config_json("qwen3");  // tied
  const std::string dir = checkpoint_dir("qwen3", config);
  edit_tensors(dir, [](auto& t) {
    t.emplace_back("model.layers.0.self_attn.rotary_emb.inv_freq", at::ones({16}));
    t.emplace_back("lm_head.weight", at::ones({96, 64}));
  });
  EXPECT_NO_THROW(Transformer::load(dir, LoadOptions{"cpu", "fp32"}));
}

TEST(Load, ShardedAndSingleFileCheckpointsGiveTheSameLogits) {
  const std::string dir = checkpoint_dir("qwen2", testing::tiny_config_json("qwen2"));
  auto single = Transformer::load(dir, LoadOptions{"cpu", "fp32"});
  std::vector<std::pair<std::string, at::Tensor>> first, second;
  nlohmann::json weight_map;
  {
    SafetensorsFile file(dir + "/model.safetensors");
    for (const TensorEntry& e : file.header().tensors) {
      auto& shard = e.name.find("layers.1.") == std::string::npos ? first : second;
      shard.emplace_back(e.name, file.view(e).clone());
      weight_map[e.name] =
          &shard == &first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
    }
  }
  const std::string sharded = testing::make_temp_dir("sharded");
  std::ofstream(sharded + "/config.json") << testing::tiny_config_json("qwen2").dump();
  write_safetensors(sharded + "/model-00001-of-00002.safetensors", first);
  write_safetensors(sharded + "/model-00002-of-00002.safetensors", second);
  std::ofstream(sharded + "/model.safetensors.index.json")
      << nlohmann::json{{"weight_map", weight_map}}.dump();
  auto split = Transformer::load(sharded, LoadOptions{"cpu", "fp32"});
  KvCache c1 = single->make_cache(1, 16), c2 = split->make_cache(1, 16);
  EXPECT_TRUE(single->forward({{0, 0, {1, 2, 3}}}, c1).equal(split->forward({{0, 0, {1, 2, 3}}}, c2)));
}

TEST(Load, ReportsSizesAndRejectsBadForwardInput) {
  auto model = Transformer::load(checkpoint_dir("llama2", testing::tiny_config_json("llama2")),
                                 LoadOptions{"cpu", "fp32"});
  int64_t expected = 0;
  for (const TensorSpec& s : checkpoint_tensor_specs(model->config())) {
    int64_t n = 1;
    for (int64_t d : s.shape) n *= d;
    expected += n;
  }
  EXPECT_EQ(model->parameter_count(), expected);
  EXPECT_EQ(model->weight_bytes(), static_cast<uint64_t>(expected) * 4);
  EXPECT_EQ(kv_bytes_per_token(model->config(), at::kFloat), 2u * 2 * 4 * 16 * 4);
  KvCache cache = model->make_cache(2, 8);
  try {
    model->forward({{0, 0, std::vector<int64_t>(9, 1)}}, cache);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kResourceExhausted);
    EXPECT_NE(std::string(e.what()).find("9"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("8"), std::string::npos);
  }
  EXPECT_THROW(model->forward({{0, 0, {96}}}, cache), Error);
  EXPECT_THROW(model->forward({{0, 0, {1}}, {0, 1, {1}}}, cache), Error);
  EXPECT_THROW(model->forward({{2, 0, {1}}}, cache), Error);
  EXPECT_THROW(model->forward({}, cache), Error);
}

TEST(Load, StorageDtypeIsConvertedOnLoad) {
  const nlohmann::json config = testing::tiny_config_json("llama3");
  const std::string f32 = testing::make_temp_dir("f32"), bf16 = testing::make_temp_dir("bf16");
  testing::write_tiny_checkpoint(f32, config, 5, "F32");
  testing::write_tiny_checkpoint(bf16, config, 5, "BF16");
  auto from_bf16 = Transformer::load(bf16, LoadOptions{"cpu", "fp32"});
  auto from_f32_as_bf16 = Transformer::load(f32, LoadOptions{"cpu", "bf16"});
  auto bf16_native = Transformer::load(bf16, LoadOptions{"cpu", "bf16"});
  EXPECT_EQ(from_bf16->dtype(), at::kFloat);
  KvCache a = from_f32_as_bf16->make_cache(1, 8), b = bf16_native->make_cache(1, 8);
  // Rounding fp32 weights to bf16 at load gives the same model as weights stored in bf16.
  EXPECT_TRUE(
      from_f32_as_bf16->forward({{0, 0, {4, 5}}}, a).equal(bf16_native->forward({{0, 0, {4, 5}}}, b)));
}

TEST(Load, RandomWeightsNeedNoFiles) {
  ModelConfig config = parse_model_config(testing::tiny_config_json("qwen3"), "config.json");
  auto model = Transformer::random(config, LoadOptions{"cpu", "fp32"}, 1);
  KvCache cache = model->make_cache(1, 8);
  at::Tensor logits = model->forward({{0, 0, {1, 2}}}, cache);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{1, 96}));
  EXPECT_TRUE(logits.isfinite().all().item<bool>());
}

}  // namespace
}  // namespace torchllm
