// Sizing the server's KV pool from a memory budget: pure arithmetic, no model.

#include <gtest/gtest.h>

#include <string>

#include "torchllm/error.h"
#include "torchllm/server.h"

namespace torchllm {
namespace {

constexpr uint64_t kPerToken = 1000;  // KV bytes per token

TEST(KvPoolBlocks, TheBudgetOverTheBlockSize) {
  // 16-token blocks of 16 000 bytes: 10 MB holds 625 of them.
  EXPECT_EQ(kv_pool_blocks(10'000'000, kPerToken, 16, 64, 4096), 625);
  // What is left over after the last whole block is not a block.
  EXPECT_EQ(kv_pool_blocks(10'015'999, kPerToken, 16, 64, 4096), 625);
  EXPECT_EQ(kv_pool_blocks(10'016'000, kPerToken, 16, 64, 4096), 626);
}

TEST(KvPoolBlocks, CappedAtFourTimesWhatTheRunningSequencesCanUse) {
  // 2 sequences of 100 tokens in blocks of 16: 7 blocks each, 56 at most.
  EXPECT_EQ(kv_pool_blocks(1ull << 40, kPerToken, 16, 2, 100), 56);
  EXPECT_EQ(kv_pool_blocks(55 * 16 * kPerToken, kPerToken, 16, 2, 100), 55);
}

TEST(KvPoolBlocks, ExactlyOneSequenceIsEnough) {
  // A context of 100 in blocks of 16 needs 7 blocks (the last one partly used).
  EXPECT_EQ(kv_pool_blocks(7 * 16 * kPerToken, kPerToken, 16, 64, 100), 7);
  EXPECT_EQ(kv_pool_blocks(4 * kPerToken, kPerToken, 4, 1, 4), 1);
}

TEST(KvPoolBlocks, LessThanOneSequenceSaysWhatToChange) {
  try {
    kv_pool_blocks(7 * 16 * kPerToken - 1, kPerToken, 16, 64, 100);
    FAIL() << "a budget of less than one sequence was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::kResourceExhausted);
    const std::string message = e.what();
    EXPECT_NE(message.find("holds 6 blocks of 16 tokens"), std::string::npos) << message;
    EXPECT_NE(message.find("context's 100 tokens (7 blocks"), std::string::npos) << message;
    for (const char* remedy : {"--context", "--kv-cache-memory", "--gpu-memory-utilization"})
      EXPECT_NE(message.find(remedy), std::string::npos) << message;
  }
  EXPECT_THROW(kv_pool_blocks(1024, kPerToken, 16, 64, 4096), Error);
}

TEST(KvPoolBlocks, RefusesNonsense) {
  EXPECT_THROW(kv_pool_blocks(1ull << 30, kPerToken, 0, 64, 4096), Error);
  EXPECT_THROW(kv_pool_blocks(1ull << 30, kPerToken, 16, 0, 4096), Error);
  EXPECT_THROW(kv_pool_blocks(1ull << 30, 0, 16, 64, 4096), Error);
}

}  // namespace
}  // namespace torchllm
