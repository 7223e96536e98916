#include "engine/block_manager.h"

#include <gtest/gtest.h>

#include <numeric>
#include <set>

#include "torchllm/error.h"

namespace torchllm {
namespace {

std::vector<int64_t> iota(int64_t n, int64_t first = 100) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), first);
  return v;
}

TEST(BlockManager, AllocatesBlocksForTheTokensAndFreesThemOnRelease) {
  BlockManager m(10, 4, /*prefix_caching=*/false);
  auto cached = m.allocate(1, iota(9));
  ASSERT_TRUE(cached);
  EXPECT_EQ(*cached, 0);
  EXPECT_EQ(m.block_table(1).size(), 3u);
  EXPECT_EQ(m.free_blocks(), 7);
  EXPECT_TRUE(m.reserve(1, 12));
  EXPECT_EQ(m.block_table(1).size(), 3u);
  EXPECT_TRUE(m.reserve(1, 13));
  EXPECT_EQ(m.block_table(1).size(), 4u);
  const std::vector<int64_t> table = m.block_table(1);
  EXPECT_EQ(std::set<int64_t>(table.begin(), table.end()).size(), 4u) << "distinct blocks";
  m.release(1);
  EXPECT_EQ(m.free_blocks(), 10);
  EXPECT_FALSE(m.has(1));
  EXPECT_THROW(m.block_table(1), Error);
}

TEST(BlockManager, RefusesWhatDoesNotFitWithoutChangingAnything) {
  BlockManager m(3, 4, true);
  ASSERT_TRUE(m.allocate(1, iota(8)));
  EXPECT_FALSE(m.allocate(2, iota(5, 7)).has_value());
  EXPECT_FALSE(m.has(2));
  EXPECT_EQ(m.free_blocks(), 1);
  EXPECT_TRUE(m.reserve(1, 12));
  EXPECT_FALSE(m.reserve(1, 13));
  EXPECT_EQ(m.block_table(1).size(), 3u);
}

TEST(BlockManager, SharesTheComputedFullBlocksOfAPrefixButComputesTheLastToken) {
  BlockManager m(16, 4, true);
  const std::vector<int64_t> prompt = iota(10);
  ASSERT_EQ(m.allocate(1, prompt), 0);
  EXPECT_EQ(m.match(prompt).cached_tokens, 0) << "nothing is computed yet";
  EXPECT_EQ(m.match(prompt).pending_tokens, 8) << "two full blocks are being computed";
  m.computed(1, prompt, 10);
  EXPECT_EQ(m.match(prompt).cached_tokens, 8);
  EXPECT_EQ(m.match(prompt).pending_tokens, 0);

  // The same prompt: two whole blocks shared; a block-aligned prompt keeps its last block to compute.
  ASSERT_EQ(m.allocate(2, prompt), 8);
  EXPECT_EQ(m.block_table(2)[0], m.block_table(1)[0]);
  EXPECT_EQ(m.block_table(2)[1], m.block_table(1)[1]);
  EXPECT_NE(m.block_table(2)[2], m.block_table(1)[2]);
  const std::vector<int64_t> aligned(prompt.begin(), prompt.begin() + 8);
  EXPECT_EQ(m.match(aligned).cached_tokens, 4);

  // A prompt that differs in its second block shares only the first.
  std::vector<int64_t> other = prompt;
  other[5] = 7;
  EXPECT_EQ(m.match(other).cached_tokens, 4);
  // The chain: the same second block after another first block is not a hit.
  std::vector<int64_t> shifted = prompt;
  shifted[0] = 1;
  EXPECT_EQ(m.match(shifted).cached_tokens, 0);
}

TEST(BlockManager, GeneratedTokensFillBlocksThatLaterPromptsShare) {
  BlockManager m(16, 4, true);
  std::vector<int64_t> tokens = iota(6);
  ASSERT_EQ(m.allocate(1, tokens), 0);
  m.computed(1, tokens, 6);
  for (int64_t t = 0; t < 5; ++t) {  // decode: each step's token is computed the step after it is sampled
    tokens.push_back(500 + t);
    ASSERT_TRUE(m.reserve(1, static_cast<int64_t>(tokens.size())));
    m.computed(1, tokens, static_cast<int64_t>(tokens.size()));
  }
  m.release(1);
  std::vector<int64_t> next_turn = tokens;
  next_turn.push_back(9);
  EXPECT_EQ(m.match(next_turn).cached_tokens, 8);
  EXPECT_EQ(m.cached_free_blocks(), 2);
  ASSERT_EQ(m.allocate(2, next_turn), 8);
  EXPECT_EQ(m.cached_free_blocks(), 0);
}

TEST(BlockManager, EvictsCachedBlocksLeastRecentlyUsedFirstAndEmptyBlocksBeforeThem) {
  BlockManager m(6, 2, true);
  const std::vector<int64_t> a = iota(5, 0), b = iota(5, 50);
  ASSERT_TRUE(m.allocate(1, a));
  m.computed(1, a, 5);
  m.release(1);
  ASSERT_TRUE(m.allocate(2, b));
  m.computed(2, b, 5);
  m.release(2);
  EXPECT_EQ(m.cached_free_blocks(), 4);
  // Three fresh blocks: the two empty blocks go first, then the least recently used cached one, the end of
  // a's prefix before its beginning.
  ASSERT_TRUE(m.allocate(3, iota(6, 900)));
  EXPECT_EQ(m.cached_free_blocks(), 3);
  EXPECT_EQ(m.match(a).cached_tokens, 2) << "a's second block was evicted first";
  EXPECT_EQ(m.match(b).cached_tokens, 4) << "b was used more recently";
  ASSERT_TRUE(m.allocate(4, iota(2, 700)));
  EXPECT_EQ(m.match(a).cached_tokens, 0);
  EXPECT_EQ(m.match(b).cached_tokens, 4);
}

TEST(BlockManager, ASharedBlockStaysUntilItsLastHolderLeaves) {
  BlockManager m(4, 2, true);
  const std::vector<int64_t> p = iota(3);
  ASSERT_TRUE(m.allocate(1, p));
  m.computed(1, p, 3);
  ASSERT_EQ(m.allocate(2, p), 2);
  EXPECT_EQ(m.free_blocks(), 1);
  m.release(1);
  EXPECT_EQ(m.free_blocks(), 2) << "block 0 is still held";
  m.release(2);
  EXPECT_EQ(m.free_blocks(), 4);
  EXPECT_EQ(m.match(p).cached_tokens, 2);
}

TEST(BlockManager, ReleaseWithoutContentsForgetsThem) {
  BlockManager m(4, 2, true);
  const std::vector<int64_t> p = iota(5);
  ASSERT_TRUE(m.allocate(1, p));
  m.computed(1, p, 5);
  m.release(1, /*keep_contents=*/false);
  EXPECT_EQ(m.match(p).cached_tokens, 0);
  EXPECT_EQ(m.cached_free_blocks(), 0);
}

TEST(BlockManager, PendingBlocksEndWithTheSequenceThatAnnouncedThem) {
  BlockManager m(8, 2, true);
  const std::vector<int64_t> p = iota(7);
  ASSERT_TRUE(m.allocate(1, p));
  EXPECT_EQ(m.match(p).pending_tokens, 6);
  m.computed(1, p, 4);  // a chunk of four tokens
  EXPECT_EQ(m.match(p).cached_tokens, 4);
  EXPECT_EQ(m.match(p).pending_tokens, 2);
  m.release(1);
  EXPECT_EQ(m.match(p).pending_tokens, 0);
  EXPECT_EQ(m.match(p).cached_tokens, 4);
}

TEST(BlockManager, WithoutPrefixCachingNothingIsShared) {
  BlockManager m(8, 2, false);
  const std::vector<int64_t> p = iota(5);
  ASSERT_TRUE(m.allocate(1, p));
  m.computed(1, p, 5);
  m.release(1);
  EXPECT_EQ(m.match(p).cached_tokens, 0);
  EXPECT_EQ(m.allocate(2, p), 0);
}

TEST(BlockManager, RejectsAnEmptyPool) {
  EXPECT_THROW(BlockManager(0, 16, true), Error);
  EXPECT_THROW(BlockManager(4, 0, true), Error);
}

}  // namespace
}  // namespace torchllm
