#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "torchllm/error.h"
#include "torchllm/sampler.h"

namespace torchllm {
namespace {

// A fresh directory per test, removed afterwards, so that parallel test processes never share files.
class GenerationConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "torchllm_sampling_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::remove((dir_ + "/generation_config.json").c_str());
    ::rmdir(dir_.c_str());
  }
  void write(const std::string& text) { std::ofstream(dir_ + "/generation_config.json") << text; }
  Error::Kind error_kind(std::string* message) {
    try {
      load_sampling_defaults(dir_);
    } catch (const Error& e) {
      *message = e.what();
      return e.kind();
    }
    ADD_FAILURE() << "no error";
    return Error::Kind::kInternal;
  }

  std::string dir_;
};

void expect_openai_defaults(const SamplingParams& p) {
  EXPECT_EQ(p.temperature, 1.0);
  EXPECT_EQ(p.top_k, 0);
  EXPECT_EQ(p.top_p, 1.0);
  EXPECT_EQ(p.min_p, 0.0);
  EXPECT_EQ(p.repetition_penalty, 1.0);
}

TEST_F(GenerationConfig, MissingFileOrDirectoryGivesOpenAIDefaults) {
  expect_openai_defaults(load_sampling_defaults(dir_));
  expect_openai_defaults(load_sampling_defaults(dir_ + "/does-not-exist"));
}

TEST_F(GenerationConfig, TypicalQwen3) {
  write(
      R"({"bos_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643], "pad_token_id": 151643,
            "temperature": 0.6, "top_k": 20, "top_p": 0.95, "transformers_version": "4.51.0"})");
  const SamplingParams p = load_sampling_defaults(dir_);
  EXPECT_DOUBLE_EQ(p.temperature, 0.6);
  EXPECT_EQ(p.top_k, 20);
  EXPECT_DOUBLE_EQ(p.top_p, 0.95);
  EXPECT_EQ(p.min_p, 0.0);
  EXPECT_EQ(p.repetition_penalty, 1.0);
  EXPECT_EQ(p.presence_penalty, 0.0);
}

TEST_F(GenerationConfig, DoSampleFalseIsGreedyEvenWithSamplingFieldsSet) {
  write(R"({"do_sample": false, "temperature": 0.7, "top_p": 0.8, "top_k": 20, "min_p": 0.1,
            "repetition_penalty": 1.05})");
  const SamplingParams p = load_sampling_defaults(dir_);
  EXPECT_EQ(p.temperature, 0.0);
  EXPECT_EQ(p.top_k, 0);
  EXPECT_EQ(p.top_p, 1.0);
  EXPECT_EQ(p.min_p, 0.0);
  // transformers applies the repetition penalty to greedy decoding as well.
  EXPECT_DOUBLE_EQ(p.repetition_penalty, 1.05);
}

TEST_F(GenerationConfig, OnlyTokenIdsKeepsOpenAIDefaults) {
  write(R"({"bos_token_id": 1, "eos_token_id": 2, "transformers_version": "4.40.0"})");
  expect_openai_defaults(load_sampling_defaults(dir_));
}

TEST_F(GenerationConfig, WithoutDoSampleTheSamplingFieldsApply) {
  write(R"({"temperature": 0.7, "top_p": 0.8, "min_p": 0.05, "repetition_penalty": 1.1, "top_k": null})");
  const SamplingParams p = load_sampling_defaults(dir_);
  EXPECT_DOUBLE_EQ(p.temperature, 0.7);
  EXPECT_DOUBLE_EQ(p.top_p, 0.8);
  EXPECT_DOUBLE_EQ(p.min_p, 0.05);
  EXPECT_DOUBLE_EQ(p.repetition_penalty, 1.1);
  EXPECT_EQ(p.top_k, 0);
}

TEST_F(GenerationConfig, MalformedJsonIsCorruptInput) {
  write(R"({"do_sample": true, "temperature": )");
  std::string message;
  EXPECT_EQ(error_kind(&message), Error::Kind::kCorruptInput);
  EXPECT_NE(message.find("generation_config.json"), std::string::npos) << message;
}

TEST_F(GenerationConfig, IllTypedOrOutOfRangeFieldsAreCorruptInputNamingTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"([1, 2])", "expected a JSON object"},
      {R"({"do_sample": "yes"})", "'do_sample'"},
      {R"({"temperature": "0.6"})", "'temperature'"},
      {R"({"top_k": 2.5})", "'top_k'"},
      {R"({"top_p": 1.5})", "top_p must be in (0, 1]"},
      {R"({"temperature": -1})", "temperature must be in [0, 100]"},
      {R"({"repetition_penalty": 0})", "repetition_penalty"},
  };
  for (const auto& [text, expected] : cases) {
    write(text);
    std::string message;
    EXPECT_EQ(error_kind(&message), Error::Kind::kCorruptInput) << text;
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_NE(message.find("generation_config.json"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace torchllm
