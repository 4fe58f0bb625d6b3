#include "core/rate_limited_log.hpp"

#include <gtest/gtest.h>

namespace herald::test {
namespace {

using namespace std::chrono_literals;
using Log = detail::RateLimitedLog;

TEST(RateLimitedLog, FirstOfACauseAtOnceThenOneSummaryPerWindow) {
  Log log("sends failed", 10s);
  Log::Clock::time_point t{1000s};
  EXPECT_EQ(log.record("queue full", t), "sends failed: queue full");
  for (int i = 0; i < 2806; ++i) EXPECT_EQ(log.record("queue full", t + 1s), "");
  EXPECT_TRUE(log.summaries(t + 5s).empty());
  auto lines = log.summaries(t + 10s);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "2,806 sends failed in the last 10 s: queue full");
  EXPECT_TRUE(log.summaries(t + 30s).empty());
  EXPECT_EQ(log.record("queue full", t + 31s), "sends failed: queue full") << "a quiet cause is logged at once again";
}

TEST(RateLimitedLog, CausesAreCountedSeparatelyAndForceFlushes) {
  Log log("sends failed", 10s);
  Log::Clock::time_point t{1000s};
  EXPECT_FALSE(log.record("a", t).empty());
  EXPECT_FALSE(log.record("b", t).empty());
  log.record("a", t);
  log.record("a", t);
  log.record("b", t);
  auto lines = log.summaries(t + 1s, true);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "2 sends failed in the last 1 s: a");
  EXPECT_EQ(lines[1], "1 sends failed in the last 1 s: b");
}

}  // namespace
}  // namespace herald::test
