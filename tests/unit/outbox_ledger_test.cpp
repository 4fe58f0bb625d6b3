// The outbox state machine, without I/O.
#include "notifier/outbox_ledger.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

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

// An entry pointing at `text`, which it keeps alive.
OutboxLedger::Entry entry_of(std::string text) {
  auto owner = std::make_shared<const std::string>(std::move(text));
  return OutboxLedger::Entry{owner, owner->data(), owner->size(), {}};
}

TEST(OutboxLedger, KeepsTheRecordUntilRemovedAndHandsItOver) {
  OutboxLedger ledger;
  ledger.add(7, 1, 0, true, entry_of("record of 7"));
  ASSERT_NE(ledger.entry(7), nullptr);
  EXPECT_EQ(ledger.entry(7)->record(), "record of 7");
  EXPECT_EQ(ledger.entry(8), nullptr);
  OutboxLedger::Entry out;
  ASSERT_TRUE(ledger.remove(7, &out));
  EXPECT_EQ(out.record(), "record of 7");
  EXPECT_EQ(ledger.entry(7), nullptr);
  EXPECT_FALSE(ledger.remove(7, &out));
}

TEST(OutboxLedger, SparseRecoveredIdsAreFoundAndSentInOrder) {
  OutboxLedger ledger;  // what recovery finds: the survivors of a long run
  for (std::uint64_t id : {5u, 1000u, 100000u}) ledger.add(id, id / 1000 + 1, static_cast<std::int64_t>(id), true);
  ledger.add(100001, 101, 1, false);
  EXPECT_EQ(ledger.state(1000), OutboxLedger::State::ready);
  EXPECT_FALSE(ledger.state(999));
  EXPECT_TRUE(ledger.remove(1000));
  EXPECT_EQ(ledger.take_next(), 5u);
  EXPECT_EQ(ledger.take_next(), 100000u);
  EXPECT_FALSE(ledger.take_next());
  ledger.mark_durable(100001);
  EXPECT_EQ(ledger.take_next(), 100001u);
  EXPECT_EQ(ledger.oldest_created_ms(), 5);
  EXPECT_EQ(ledger.entries_of_oldest_segment(), std::vector<std::uint64_t>{5});
}

TEST(OutboxLedger, AStuckOldestEntryKeepsLookupsRightThroughCompactions) {
  // Entry 1 is never confirmed while 20,000 later ones come and go: the gone ones behind it
  // are compacted away (memory stays bounded) and every lookup still finds the right entry.
  OutboxLedger ledger;
  constexpr std::uint64_t kCount = 20'000;
  for (std::uint64_t id = 1; id <= kCount; ++id) {
    ledger.add(id, 1 + id / 1000, static_cast<std::int64_t>(id), false, entry_of(std::to_string(id)));
    if (id % 100 == 0) ledger.mark_durable(id);
  }
  ledger.mark_durable(kCount);
  for (std::uint64_t id = 1; id <= kCount; ++id) ASSERT_EQ(ledger.take_next(), id);
  for (std::uint64_t id = 2; id <= kCount; ++id) {
    if (id % 997 == 0) continue;  // a few stay too
    ASSERT_TRUE(ledger.remove(id)) << id;
    if (id % 1500 == 0) {
      // Spot checks between compactions.
      ASSERT_NE(ledger.entry(1), nullptr);
      EXPECT_EQ(ledger.entry(1)->record(), "1");
      EXPECT_EQ(ledger.entry(id), nullptr);
      if (const std::uint64_t kept = (id / 997 + 1) * 997; kept <= kCount) {
        ASSERT_NE(ledger.entry(kept), nullptr) << kept;
        EXPECT_EQ(ledger.entry(kept)->record(), std::to_string(kept));
      }
    }
  }
  EXPECT_EQ(ledger.depth(), 1 + kCount / 997);
  EXPECT_EQ(ledger.in_flight(), ledger.depth());
  EXPECT_EQ(ledger.oldest_created_ms(), 1);
  ledger.requeue(997 * 3);
  EXPECT_EQ(ledger.take_next(), 997u * 3);
  EXPECT_TRUE(ledger.remove(1));
  EXPECT_EQ(ledger.oldest_created_ms(), 997);
  EXPECT_EQ(ledger.entries_of_oldest_segment(), std::vector<std::uint64_t>{997});
  for (std::uint64_t id = 997; id <= kCount; id += 997) EXPECT_TRUE(ledger.remove(id)) << id;
  EXPECT_EQ(ledger.depth(), 0u);
  EXPECT_EQ(ledger.in_flight(), 0u);
  EXPECT_FALSE(ledger.oldest_created_ms());
}

}  // namespace
}  // namespace herald::detail
