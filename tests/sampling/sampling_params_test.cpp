#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "torchllm/error.h"
#include "torchllm/sampler.h"

namespace torchllm {
namespace {

constexpr int64_t kVocab = 100;

// The message validate() gives for params changed by `change`, or "" when it accepts them.
std::string rejection(const std::function<void(SamplingParams&)>& change) {
  SamplingParams params;
  change(params);
  try {
    params.validate(kVocab);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument) << e.what();
    return e.what();
  }
  return "";
}

TEST(SamplingParams, DefaultsAreOpenAIsAndValid) {
  SamplingParams params;
  EXPECT_EQ(params.temperature, 1.0);
  EXPECT_EQ(params.top_k, 0);
  EXPECT_EQ(params.top_p, 1.0);
  EXPECT_EQ(params.min_p, 0.0);
  EXPECT_EQ(params.repetition_penalty, 1.0);
  EXPECT_EQ(params.presence_penalty, 0.0);
  EXPECT_EQ(params.frequency_penalty, 0.0);
  EXPECT_FALSE(params.seed.has_value());
  EXPECT_EQ(rejection([](SamplingParams&) {}), "");
}

TEST(SamplingParams, AcceptsTheEndsOfEveryRange) {
  EXPECT_EQ(rejection([](SamplingParams& p) {
              p.temperature = 0;
              p.top_p = 1;
              p.min_p = 1;
              p.repetition_penalty = 100;
              p.presence_penalty = -2;
              p.frequency_penalty = 2;
              p.logit_bias = {{0, -100}, {kVocab - 1, 100}};
              p.logprobs = true;
              p.top_logprobs = 20;
              p.top_k = 1000000;  // more than the vocabulary: no filtering
            }),
            "");
  EXPECT_EQ(rejection([](SamplingParams& p) {
              p.temperature = 100;
              p.top_p = 1e-6;
              p.min_p = 0;
              p.repetition_penalty = 1e-3;
              p.presence_penalty = 2;
              p.frequency_penalty = -2;
            }),
            "");
}

TEST(SamplingParams, RejectsEachOutOfRangeFieldByName) {
  const double nan = std::nan("");
  struct Case {
    std::function<void(SamplingParams&)> change;
    std::string expected;
  };
  const Case cases[] = {
      {[](SamplingParams& p) { p.temperature = -0.1; }, "temperature must be in [0, 100], got -0.1"},
      {[](SamplingParams& p) { p.temperature = 100.5; }, "temperature must be in [0, 100]"},
      {[&](SamplingParams& p) { p.temperature = nan; }, "temperature"},
      {[](SamplingParams& p) { p.top_k = -1; }, "top_k must be >= 0"},
      {[](SamplingParams& p) { p.top_p = 0; }, "top_p must be in (0, 1], got 0"},
      {[](SamplingParams& p) { p.top_p = 1.01; }, "top_p must be in (0, 1]"},
      {[](SamplingParams& p) { p.min_p = -0.01; }, "min_p must be in [0, 1]"},
      {[](SamplingParams& p) { p.min_p = 1.5; }, "min_p must be in [0, 1]"},
      {[](SamplingParams& p) { p.repetition_penalty = 0; }, "repetition_penalty must be in (0, 100]"},
      {[](SamplingParams& p) { p.repetition_penalty = 101; }, "repetition_penalty must be in (0, 100]"},
      {[](SamplingParams& p) { p.presence_penalty = -2.5; }, "presence_penalty must be in [-2, 2]"},
      {[](SamplingParams& p) { p.presence_penalty = 2.5; }, "presence_penalty must be in [-2, 2]"},
      {[](SamplingParams& p) { p.frequency_penalty = 3; }, "frequency_penalty must be in [-2, 2]"},
      {[&](SamplingParams& p) { p.frequency_penalty = nan; }, "frequency_penalty"},
      {[](SamplingParams& p) {
         p.logit_bias = {{kVocab, 1}};
       },
       "logit_bias: token id 100 is outside the vocabulary [0, 100)"},
      {[](SamplingParams& p) {
         p.logit_bias = {{-1, 1}};
       },
       "logit_bias: token id -1"},
      {[](SamplingParams& p) {
         p.logit_bias = {{7, 100.5}};
       },
       "logit_bias: the bias of token 7 must be in [-100, 100]"},
      {[](SamplingParams& p) {
         p.logit_bias = {{7, -101}};
       },
       "logit_bias: the bias of token 7"},
      {[](SamplingParams& p) {
         p.logprobs = true;
         p.top_logprobs = 21;
       },
       "top_logprobs must be in [0, 20], got 21"},
      {[](SamplingParams& p) {
         p.logprobs = true;
         p.top_logprobs = -1;
       },
       "top_logprobs must be in [0, 20]"},
      {[](SamplingParams& p) { p.top_logprobs = 3; }, "top_logprobs needs logprobs"},
  };
  for (const Case& c : cases) {
    const std::string message = rejection(c.change);
    EXPECT_NE(message.find(c.expected), std::string::npos)
        << "message: '" << message << "', expected: " << c.expected;
  }
}

}  // namespace
}  // namespace torchllm
