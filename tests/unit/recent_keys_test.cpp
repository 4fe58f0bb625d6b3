// RecentKeys: the server's duplicate window and redelivery counts, bounded and FIFO.
#include "server/recent_keys.hpp"

#include <gtest/gtest.h>

#include <string>

namespace herald::detail {
namespace {

TEST(RecentKeys, CountsEachKeyAndForgetsTheOldestBeyondItsCapacity) {
  RecentKeys keys(16);  // one key per shard
  EXPECT_FALSE(keys.contains("a"));
  EXPECT_EQ(keys.increment("a"), 1u);
  EXPECT_TRUE(keys.contains("a"));
  EXPECT_EQ(keys.increment("a"), 2u);
  EXPECT_EQ(keys.increment("a"), 3u);
  // Far more keys than it holds: every shard forgets its oldest, the newest stay.
  for (int i = 0; i < 100'000; ++i) keys.increment("key-" + std::to_string(i));
  EXPECT_FALSE(keys.contains("a"));
  EXPECT_FALSE(keys.contains("key-0"));
  EXPECT_TRUE(keys.contains("key-99999"));
  EXPECT_EQ(keys.increment("key-99999"), 2u);
  EXPECT_EQ(keys.increment("a"), 1u);  // forgotten: counted from the start again
}

TEST(RecentKeys, AWindowOfNKeysRemembersTheLastOnesOfEachShard) {
  RecentKeys keys(4096);
  for (int i = 0; i < 20'000; ++i) keys.increment(std::to_string(i));
  int remembered = 0;
  for (int i = 0; i < 20'000; ++i) remembered += keys.contains(std::to_string(i)) ? 1 : 0;
  EXPECT_EQ(remembered, 4096);  // each shard holds its last 256 (every shard got more)
  EXPECT_TRUE(keys.contains("19999"));
}

TEST(RecentKeys, ZeroCapacityRemembersNothing) {
  RecentKeys keys(0);
  EXPECT_EQ(keys.increment("a"), 1u);
  EXPECT_EQ(keys.increment("a"), 1u);
  EXPECT_FALSE(keys.contains("a"));
}

}  // namespace
}  // namespace herald::detail
