#include <gtest/gtest.h>

#include "torchllm/error.h"
#include "torchllm/kv_cache.h"

namespace torchllm {
namespace {

TEST(KvSlots, AcquiresReleasesAndTracksTokens) {
  KvSlots slots(2, 10);
  auto a = slots.acquire({1, 2, 3});
  auto b = slots.acquire({1, 2, 3});
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->slot, b->slot);
  EXPECT_EQ(a->reused, 0);
  EXPECT_FALSE(slots.acquire({1}).has_value());
  EXPECT_EQ(slots.free_count(), 0);
  slots.append(a->slot, {1, 2, 3, 4, 5, 6, 7});
  EXPECT_EQ(slots.length(a->slot), 7);
  EXPECT_THROW(slots.append(a->slot, {8, 9, 10, 11}), Error);
  EXPECT_EQ(slots.length(a->slot), 7);
  slots.truncate(a->slot, 3);
  EXPECT_EQ(slots.tokens(a->slot), (std::vector<int64_t>{1, 2, 3}));
  slots.release(a->slot);
  EXPECT_FALSE(slots.in_use(a->slot));
  EXPECT_THROW(slots.length(a->slot), Error);
}

TEST(KvSlots, ReusesTheLongestCachedPrefixButNeverTheWholePrompt) {
  KvSlots slots(3, 100);
  const int64_t first = slots.acquire({1, 2, 3, 4})->slot;
  slots.append(first, {1, 2, 3, 4, 5});
  const int64_t second = slots.acquire({1, 9})->slot;
  slots.append(second, {1, 9});
  slots.release(first);
  slots.release(second);

  auto grown = slots.acquire({1, 2, 3, 4, 5, 6, 7});  // the next turn of the first conversation
  ASSERT_TRUE(grown);
  EXPECT_EQ(grown->slot, first);
  EXPECT_EQ(grown->reused, 5);
  EXPECT_EQ(slots.length(first), 5);
  slots.release(first);

  auto same = slots.acquire({1, 2, 3});  // a prompt the slot holds entirely: its last token is computed again
  EXPECT_EQ(same->slot, first);
  EXPECT_EQ(same->reused, 2);
  EXPECT_EQ(slots.tokens(first), (std::vector<int64_t>{1, 2}));
  slots.release(first, /*keep_tokens=*/false);

  auto fresh = slots.acquire({7, 8});  // no shared prefix: the empty slot, leaving the others reusable
  EXPECT_EQ(fresh->reused, 0);
  EXPECT_NE(fresh->slot, second);
  EXPECT_EQ(slots.length(fresh->slot), 0);
}

}  // namespace
}  // namespace torchllm
