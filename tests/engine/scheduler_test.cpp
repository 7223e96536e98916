#include "torchllm/scheduler.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "tiny_chat_model.h"
#include "tiny_checkpoint.h"
#include "torchllm/error.h"
#include "torchllm/generator.h"
#include "torchllm/grammar.h"

namespace torchllm {
namespace {

class SchedulerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::make_temp_dir("scheduler-test"));
    testing::write_tiny_chat_model(*dir_, 7);
    model_ = Transformer::load(*dir_, {"cpu", "fp32"}).release();
    tokenizer_ = load_tokenizer(*dir_).release();
  }
  static void TearDownTestSuite() {
    delete model_;
    delete tokenizer_;
    std::system(("rm -rf '" + *dir_ + "'").c_str());
    delete dir_;
  }

  static std::vector<TokenId> prompt(const std::string& text) { return tokenizer_->encode(text); }

  static GenerationRequest greedy(std::vector<TokenId> prompt, int64_t max_tokens) {
    GenerationRequest request;
    request.prompt = std::move(prompt);
    request.sampling.temperature = 0;
    request.max_tokens = max_tokens;
    request.ignore_eos = true;
    return request;
  }

  // Greedy decoding written out with the model alone: the reference for everything the scheduler does.
  static std::vector<TokenId> argmax_loop(const std::vector<TokenId>& prompt, int n) {
    KvCache cache = model_->make_cache(1, 256);
    std::vector<TokenId> out;
    SequenceChunk chunk{0, 0, std::vector<int64_t>(prompt.begin(), prompt.end()), false};
    for (int i = 0; i < n; ++i) {
      at::Tensor logits = model_->forward({chunk}, cache);
      const TokenId next = static_cast<TokenId>(logits[0].argmax().item<int64_t>());
      out.push_back(next);
      chunk.start += static_cast<int64_t>(chunk.tokens.size());
      chunk.tokens = {next};
    }
    return out;
  }

  static std::string* dir_;
  static Transformer* model_;
  static Tokenizer* tokenizer_;
};

std::string* SchedulerTest::dir_ = nullptr;
Transformer* SchedulerTest::model_ = nullptr;
Tokenizer* SchedulerTest::tokenizer_ = nullptr;

TEST_F(SchedulerTest, GreedyGenerationEqualsArgmaxOfTheModel) {
  Generator generator(*model_, *tokenizer_, 128);
  const std::vector<TokenId> p = prompt("the hello world of the");
  GenerationResult result = generator.generate(greedy(p, 24));
  EXPECT_EQ(result.tokens, argmax_loop(p, 24));
  EXPECT_EQ(result.finish_reason, FinishReason::kLength);
  EXPECT_EQ(result.stats.prompt_tokens, static_cast<int64_t>(p.size()));
  EXPECT_EQ(result.stats.generated_tokens, 24);
  EXPECT_EQ(result.text, tokenizer_->decode(result.tokens, true));
}

TEST_F(SchedulerTest, StreamedDeltasAddUpToTheResult) {
  Generator generator(*model_, *tokenizer_, 128);
  std::string streamed;
  std::vector<TokenId> streamed_ids;
  GenerationRequest request = greedy(prompt("once upon a time"), 30);
  request.sampling.logprobs = true;
  request.sampling.top_logprobs = 2;
  GenerationResult result = generator.generate(request, [&](const GenerationDelta& delta) {
    streamed += delta.text;
    for (const SampledToken& t : delta.tokens) streamed_ids.push_back(static_cast<TokenId>(t.token));
  });
  EXPECT_EQ(streamed, result.text);
  EXPECT_EQ(streamed_ids, result.tokens);
  ASSERT_EQ(result.token_logprobs.size(), result.tokens.size());
  for (const SampledToken& t : result.token_logprobs) {
    ASSERT_EQ(t.top.size(), 2u);
    EXPECT_EQ(t.top[0].token, t.token);  // greedy picks the most likely token
    EXPECT_LE(t.logprob, 0.0f);
  }
}

TEST_F(SchedulerTest, BatchedChunkedGenerationEqualsEachAlone) {
  const std::vector<std::string> texts = {
      "the", "hello world, hello world, hello world",     "in the beginning", "12 + 23 = ",
      "a",   "what is the answer to the question of life"};
  // Alone, one at a time.
  std::vector<GenerationResult> alone;
  for (size_t i = 0; i < texts.size(); ++i) {
    Generator generator(*model_, *tokenizer_, 128);
    GenerationRequest request = greedy(prompt(texts[i]), 10 + static_cast<int64_t>(i));
    if (i % 2 == 1) {  // sampled rows with their own seeds
      request.sampling.temperature = 0.9;
      request.sampling.top_p = 0.9;
      request.sampling.seed = 100 + i;
    }
    alone.push_back(generator.generate(request));
  }
  // Together: 4 slots for 6 sequences (two wait), prompts prefilled 3 tokens per step.
  SchedulerOptions options;
  options.max_batch = 4;
  options.max_seq = 128;
  options.prefill_chunk = 3;
  Scheduler scheduler(*model_, *tokenizer_, options);
  std::map<size_t, GenerationResult> together;
  for (size_t i = 0; i < texts.size(); ++i) {
    GenerationRequest request = greedy(prompt(texts[i]), 10 + static_cast<int64_t>(i));
    if (i % 2 == 1) {
      request.sampling.temperature = 0.9;
      request.sampling.top_p = 0.9;
      request.sampling.seed = 100 + i;
    }
    GenerationCallbacks callbacks;
    callbacks.on_finish = [&together, i](const GenerationResult& r) { together[i] = r; };
    callbacks.on_error = [](const std::string& m) { FAIL() << m; };
    scheduler.submit(request, callbacks);
  }
  EXPECT_EQ(scheduler.waiting(), texts.size());
  size_t max_running = 0;
  while (scheduler.step()) max_running = std::max(max_running, scheduler.running());
  EXPECT_EQ(max_running, 4u);
  ASSERT_EQ(together.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(together[i].tokens, alone[i].tokens) << "sequence " << i;
    EXPECT_EQ(together[i].text, alone[i].text) << "sequence " << i;
  }
}

TEST_F(SchedulerTest, AGrowingConversationReusesItsCachedPrefix) {
  for (const int64_t block_size : {1, 4, 16}) {
    SchedulerOptions options;
    options.max_seq = 128;
    options.kv_block_size = block_size;
    Generator generator(*model_, *tokenizer_, options);
    std::vector<TokenId> turn = prompt("<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n");
    GenerationResult first = generator.generate(greedy(turn, 8));
    EXPECT_EQ(first.stats.cached_prompt_tokens, 0);
    turn.insert(turn.end(), first.tokens.begin(), first.tokens.end());
    const std::vector<TokenId> more = prompt("<|im_end|>\n<|im_start|>user\nand again<|im_end|>\n");
    turn.insert(turn.end(), more.begin(), more.end());
    GenerationResult second = generator.generate(greedy(turn, 8));
    // Everything but the last generated token (never fed back) was already in the cache: its whole blocks
    // are reused.
    const auto held = static_cast<int64_t>(turn.size() - more.size() - 1);
    EXPECT_EQ(second.stats.cached_prompt_tokens, held / block_size * block_size) << block_size;
    EXPECT_EQ(second.tokens, argmax_loop(turn, 8)) << block_size;
    EXPECT_EQ(generator.kv_stats().prefix_hit_tokens, second.stats.cached_prompt_tokens);
  }
}

TEST_F(SchedulerTest, ContextLimitEndsWithLengthAndTooLongPromptsAreRejected) {
  Generator generator(*model_, *tokenizer_, 20);
  std::vector<TokenId> p(15, 104);
  GenerationRequest request = greedy(p, 100);
  request.max_tokens.reset();
  GenerationResult result = generator.generate(request);
  EXPECT_EQ(result.finish_reason, FinishReason::kLength);
  EXPECT_EQ(result.tokens.size(), 5u);
  try {
    generator.generate(greedy(std::vector<TokenId>(20, 104), 1));
    FAIL() << "a prompt filling the context was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("prompt has 20 tokens but the context is 20"), std::string::npos);
  }
  EXPECT_THROW(generator.generate(greedy({}, 1)), Error);
  EXPECT_THROW(generator.generate(greedy({100000}, 1)), Error);
}

TEST_F(SchedulerTest, StopStringEndsTheGenerationAndIsNotEmitted) {
  Generator generator(*model_, *tokenizer_, 128);
  const std::vector<TokenId> p = prompt("hello");
  const std::string full = generator.generate(greedy(p, 40)).text;
  // A stop string from the middle of what the model writes, free of replacement characters.
  std::string stop;
  for (size_t at = full.size() / 3; at + 2 <= full.size() && stop.empty(); ++at) {
    const std::string candidate = full.substr(at, 2);
    if (candidate.find('\xEF') == std::string::npos && static_cast<unsigned char>(candidate[0]) < 0x80 &&
        static_cast<unsigned char>(candidate[1]) < 0x80) {
      stop = candidate;
    }
  }
  ASSERT_FALSE(stop.empty()) << full;
  GenerationRequest request = greedy(p, 40);
  request.stop = {stop};
  std::string streamed;
  GenerationResult result =
      generator.generate(request, [&](const GenerationDelta& d) { streamed += d.text; });
  EXPECT_EQ(result.text, full.substr(0, full.find(stop)));
  EXPECT_EQ(streamed, result.text);
  EXPECT_EQ(result.finish_reason, FinishReason::kStop);
  ASSERT_TRUE(result.stop_string.has_value());
  EXPECT_EQ(*result.stop_string, stop);
}

TEST_F(SchedulerTest, EndOfSequenceTokenStops) {
  Generator generator(*model_, *tokenizer_, 128);
  const TokenId im_end = *tokenizer_->token_to_id("<|im_end|>");
  GenerationRequest request = greedy(prompt("hi"), 10);
  request.ignore_eos = false;
  request.sampling.logit_bias[im_end] = 100;
  GenerationResult result = generator.generate(request);
  EXPECT_EQ(result.finish_reason, FinishReason::kStop);
  EXPECT_EQ(result.tokens, std::vector<TokenId>{im_end});
  EXPECT_EQ(result.text, "");
  request.ignore_eos = true;
  EXPECT_EQ(generator.generate(request).tokens.size(), 10u);
}

TEST_F(SchedulerTest, CancelStopsAtTheNextStep) {
  Generator generator(*model_, *tokenizer_, 128);
  GenerationRequest request = greedy(prompt("hello"), 50);
  request.cancel = std::make_shared<std::atomic<bool>>(false);
  int deltas = 0;
  GenerationResult result = generator.generate(request, [&](const GenerationDelta& d) {
    deltas += static_cast<int>(d.tokens.size());
    if (deltas >= 3) request.cancel->store(true);
  });
  EXPECT_EQ(result.finish_reason, FinishReason::kCancelled);
  EXPECT_LT(result.tokens.size(), 10u);
}

// As Ctrl-C and a disconnecting client do: the flag is set by another thread while the generation runs.
TEST_F(SchedulerTest, CancelFromAnotherThread) {
  Generator generator(*model_, *tokenizer_, 20000);
  GenerationRequest request = greedy(prompt("hello"), 19000);
  request.cancel = std::make_shared<std::atomic<bool>>(false);
  std::atomic<int> tokens{0};
  std::thread canceller([&] {
    while (tokens.load() < 5) std::this_thread::yield();
    request.cancel->store(true);
  });
  GenerationResult result = generator.generate(
      request, [&](const GenerationDelta& d) { tokens += static_cast<int>(d.tokens.size()); });
  canceller.join();
  EXPECT_EQ(result.finish_reason, FinishReason::kCancelled);
  EXPECT_GE(result.tokens.size(), 5u);
  EXPECT_LT(result.tokens.size(), 19000u);
}

// Steps that only decode run through the static-shape DecodeRunner (mixed steps through forward); turning it
// off changes no token, greedy or sampled.
TEST_F(SchedulerTest, StaticDecodeStepsGiveTheTokensOfTheDynamicPath) {
  const std::vector<std::string> texts = {"the", "hello world", "in the beginning", "12 + 23 = ", "a"};
  std::map<size_t, GenerationResult> results[2];
  for (int static_decode = 0; static_decode < 2; ++static_decode) {
    SchedulerOptions options;
    options.max_batch = 3;
    options.max_seq = 96;
    options.prefill_chunk = 4;
    options.static_decode = static_decode == 1;
    Scheduler scheduler(*model_, *tokenizer_, options);
    for (size_t i = 0; i < texts.size(); ++i) {
      GenerationRequest request = greedy(prompt(texts[i]), 12 + 5 * static_cast<int64_t>(i));
      if (i % 2 == 1) {
        request.sampling.temperature = 0.8;
        request.sampling.top_k = 20;
        request.sampling.seed = 7 + i;
      }
      GenerationCallbacks callbacks;
      auto& out = results[static_decode];
      callbacks.on_finish = [&out, i](const GenerationResult& r) { out[i] = r; };
      callbacks.on_error = [](const std::string& m) { FAIL() << m; };
      scheduler.submit(request, callbacks);
    }
    while (scheduler.step()) {
    }
  }
  ASSERT_EQ(results[0].size(), texts.size());
  ASSERT_EQ(results[1].size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(results[1][i].tokens, results[0][i].tokens) << i;
}

TEST_F(SchedulerTest, SameSeedSameTokensOtherSeedOtherTokens) {
  Generator generator(*model_, *tokenizer_, 128);
  GenerationRequest request = greedy(prompt("the"), 24);
  request.sampling.temperature = 1.0;
  request.sampling.seed = 5;
  const std::vector<TokenId> a = generator.generate(request).tokens;
  EXPECT_EQ(generator.generate(request).tokens, a);
  request.sampling.seed = 6;
  EXPECT_NE(generator.generate(request).tokens, a);
}

// Constrained rows in a batch with free ones: each constrained output is a sentence of its grammar and ends
// (kStop) when the grammar is complete; the free rows give exactly what they give alone.
TEST_F(SchedulerTest, GrammarsConstrainTheirOwnRowsOnly) {
  auto digits = Grammar::from_gbnf("root ::= \"[\" [0-9]{1,3} (\", \" [0-9]{1,3}){2} \"]\"\n");
  auto word = Grammar::from_gbnf("root ::= (\"yes\" | \"no\") \".\"\n");
  std::vector<GenerationResult> alone;
  for (const char* text : {"the", "hello world"}) {
    Generator generator(*model_, *tokenizer_, 128);
    alone.push_back(generator.generate(greedy(prompt(text), 12)));
  }
  SchedulerOptions options;
  options.max_batch = 4;
  options.max_seq = 128;
  Scheduler scheduler(*model_, *tokenizer_, options);
  std::map<size_t, GenerationResult> results;
  const std::vector<std::pair<const char*, std::shared_ptr<const Grammar>>> rows = {
      {"the", nullptr}, {"numbers", digits}, {"hello world", nullptr}, {"answer", word}};
  for (size_t i = 0; i < rows.size(); ++i) {
    GenerationRequest request = greedy(prompt(rows[i].first), 12);
    request.grammar = rows[i].second;
    if (request.grammar) {  // sampled, with end-of-sequence allowed: the grammar alone must end it
      request.sampling.temperature = 1.0;
      request.sampling.seed = 3 + i;
      request.ignore_eos = false;
      request.max_tokens = 60;
    }
    GenerationCallbacks callbacks;
    callbacks.on_finish = [&results, i](const GenerationResult& r) { results[i] = r; };
    callbacks.on_error = [](const std::string& m) { FAIL() << m; };
    scheduler.submit(request, callbacks);
  }
  while (scheduler.step()) {
  }
  ASSERT_EQ(results.size(), rows.size());
  EXPECT_EQ(results[0].tokens, alone[0].tokens);
  EXPECT_EQ(results[2].tokens, alone[1].tokens);
  for (size_t i : {size_t{1}, size_t{3}}) {
    EXPECT_EQ(results[i].finish_reason, FinishReason::kStop) << results[i].text;
    GrammarMatcher check(rows[i].second,
                         std::make_shared<TokenTrie>(std::vector<std::string>{"x"}, std::vector<int64_t>{}));
    EXPECT_TRUE(check.accept_bytes(results[i].text) && check.finished()) << results[i].text;
  }
}

}  // namespace
}  // namespace torchllm
