// The outbox state machine, without I/O.
#include "notifier/outbox_ledger.hpp"

#include <gtest/gtest.h>

namespace herald::detail {
namespace {

TEST(OutboxLedger, OnlyDurableEntriesAreSentInOrder) {
  OutboxLedger ledger;
  for (std::uint64_t id = 1; id <= 4; ++id) ledger.add(id, 1, 100 + static_cast<std::int64_t>(id), false);
  EXPECT_EQ(ledger.depth(), 4u);
  EXPECT_FALSE(ledger.take_next()) << "nothing is on disk yet";
  ledger.mark_durable(2);
  EXPECT_EQ(ledger.take_next(), 1u);
  EXPECT_EQ(ledger.take_next(), 2u);
  EXPECT_FALSE(ledger.take_next());
  EXPECT_EQ(ledger.in_flight(), 2u);
  ledger.mark_durable(4);
  EXPECT_EQ(ledger.state(3), OutboxLedger::State::ready);
  EXPECT_EQ(ledger.oldest_created_ms(), 101);
}

TEST(OutboxLedger, RequeuedEntryGoesFirstAndRemovedOnesAreSkipped) {
  OutboxLedger ledger;
  for (std::uint64_t id = 1; id <= 3; ++id) ledger.add(id, 1, 0, true);
  EXPECT_EQ(ledger.take_next(), 1u);
  ledger.requeue(1);
  EXPECT_EQ(ledger.in_flight(), 0u);
  EXPECT_TRUE(ledger.remove(2));
  EXPECT_FALSE(ledger.remove(2));
  EXPECT_EQ(ledger.take_next(), 1u);
  EXPECT_EQ(ledger.take_next(), 3u);
  EXPECT_FALSE(ledger.take_next());
  EXPECT_TRUE(ledger.remove(1));
  EXPECT_TRUE(ledger.remove(3));
  EXPECT_EQ(ledger.depth(), 0u);
  EXPECT_EQ(ledger.in_flight(), 0u);
  EXPECT_EQ(ledger.ready(), 0u);
}

TEST(OutboxLedger, SegmentsAreDeletedOldestFirstOnlyWhenEmpty) {
  OutboxLedger ledger;
  ledger.add(1, 1, 0, true);
  ledger.add_bytes(1, 100);
  ledger.add(2, 2, 0, true);
  ledger.add_bytes(2, 100);
  ledger.add(3, 3, 0, true);
  ledger.add_bytes(3, 100);
  EXPECT_EQ(ledger.bytes(), 300u);
  ledger.remove(2);
  EXPECT_TRUE(ledger.take_deletable(3, true).empty()) << "segment 1 still holds entry 1: 2 must wait";
  ledger.remove(1);
  auto deleted = ledger.take_deletable(3, false);
  ASSERT_EQ(deleted.size(), 2u);
  EXPECT_EQ(deleted[0].first, 1u);
  EXPECT_EQ(deleted[1].first, 2u);
  EXPECT_EQ(ledger.bytes(), 100u);
  ledger.remove(3);
  EXPECT_TRUE(ledger.take_deletable(3, false).empty()) << "the active segment stays unless asked";
  EXPECT_EQ(ledger.take_deletable(3, true).size(), 1u);
  EXPECT_EQ(ledger.bytes(), 0u);
}

TEST(OutboxLedger, OldestSegmentEntriesForDropOldest) {
  OutboxLedger ledger;
  ledger.add(1, 1, 0, true);
  ledger.add(2, 1, 0, true);
  ledger.add(3, 2, 0, true);
  EXPECT_EQ(ledger.entries_of_oldest_segment(), (std::vector<std::uint64_t>{1, 2}));
  ledger.remove(1);
  ledger.remove(2);
  EXPECT_EQ(ledger.entries_of_oldest_segment(), (std::vector<std::uint64_t>{3}));
}

}  // namespace
}  // namespace herald::detail
