#include <gtest/gtest.h>

#include "torchllm/error.h"
#include "torchllm/kv_cache.h"

namespace torchllm {
namespace {

TEST(KvSlots, AcquiresReleasesAndTracksLengths) {
  KvSlots slots(2, 10);
  auto a = slots.acquire();
  auto b = slots.acquire();
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_FALSE(slots.acquire().has_value());
  EXPECT_EQ(slots.free_count(), 0);
  slots.advance(*a, 7);
  EXPECT_EQ(slots.length(*a), 7);
  EXPECT_THROW(slots.advance(*a, 4), Error);
  EXPECT_EQ(slots.length(*a), 7);
  slots.truncate(*a, 3);
  EXPECT_EQ(slots.length(*a), 3);
  slots.release(*a);
  EXPECT_FALSE(slots.in_use(*a));
  EXPECT_THROW(slots.length(*a), Error);
  auto c = slots.acquire();
  ASSERT_TRUE(c);
  EXPECT_EQ(slots.length(*c), 0);
}

}  // namespace
}  // namespace torchllm
