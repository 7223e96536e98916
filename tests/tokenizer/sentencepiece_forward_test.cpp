// The proof that SentencePiece and libtorch live in one process on Debian's packages: libsentencepiece embeds
// a protobuf-lite that clashes with the libprotobuf libtorch loads, unless the shim isolates it.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>

#include "tiny_checkpoint.h"
#include "tokenizer/sentencepiece_tokenizer.h"
#include "torchllm/model.h"
#include "torchllm/tokenizer.h"

namespace torchllm {
namespace {

TEST(SentencePieceWithLibtorchTest, TokenizeAndForwardInOneProcess) {
  const std::string model_path = std::string(TORCHLLM_SPM_MODEL_DIR) + "/tokenizer.model";
  ASSERT_TRUE(std::ifstream(model_path).good())
      << model_path << " is missing: the CTest fixture tokenizer_spm_model trains it with spm_train "
      << "(Debian package sentencepiece)";
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(model_path);
  const std::vector<TokenId> ids = tokenizer->encode("hello world, café 世界 😀");
  ASSERT_GT(ids.size(), 5u);
  EXPECT_EQ(ids.front(), 1);

  const nlohmann::json config = testing::tiny_config_json("llama2");
  const std::string dir = testing::make_temp_dir("spm-forward");
  testing::write_tiny_checkpoint(dir, config, 7);
  const auto model = Transformer::load(dir, LoadOptions{"cpu", "fp32"});
  const int64_t vocab = config["vocab_size"].get<int64_t>();
  std::vector<int64_t> tokens;
  for (TokenId id : ids) tokens.push_back(id % vocab);
  KvCache cache = model->make_cache(1, 64);
  const at::Tensor logits = model->forward({{0, 0, tokens, true}}, cache);
  EXPECT_EQ(logits.size(0), static_cast<int64_t>(tokens.size()));
  EXPECT_EQ(logits.size(1), vocab);
  EXPECT_TRUE(at::isfinite(logits).all().item<bool>());

  // The tokenizer still works after libtorch has run.
  EXPECT_EQ(tokenizer->decode(ids, true), "hello world, café 世界 😀");
  EXPECT_NE(tokenizer::sentencepiece_shim_path().find("libtorchllm_spm.so"), std::string::npos);
}

}  // namespace
}  // namespace torchllm
