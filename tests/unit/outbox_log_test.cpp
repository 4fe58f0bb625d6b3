// The outbox's record format: round trip, truncation, corruption and resynchronisation.
#include "notifier/outbox_log.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace herald::detail {
namespace {

OutboxRecord record(std::uint64_t id, std::string body = R"({"oslo.message": "{}"})") {
  OutboxRecord r;
  r.id = id;
  r.created_ms = 1'700'000'000'000 + static_cast<std::int64_t>(id);
  r.priority = 2;
  r.retry = -1;
  r.exchange = "openstack";
  r.routing_key = "notifications.audit";
  r.message_id = "id-" + std::to_string(id);
  r.event_type = "audit.event";
  r.body = std::move(body);
  return r;
}

TEST(OutboxLog, EntriesAndDoneRecordsRoundTrip) {
  std::string bytes;
  const std::size_t size = append_entry_record(record(1), bytes);
  EXPECT_EQ(size, bytes.size());
  append_entry_record(record(2, std::string(5000, 'x')), bytes);
  append_done_record({1}, bytes);
  SegmentScan scan = parse_segment(bytes);
  ASSERT_EQ(scan.entries.size(), 2u);
  EXPECT_EQ(scan.entries[0].message_id, "id-1");
  EXPECT_EQ(scan.entries[0].created_ms, 1'700'000'000'001);
  EXPECT_EQ(scan.entries[0].retry, -1);
  EXPECT_EQ(scan.entries[1].body, std::string(5000, 'x'));
  EXPECT_EQ(scan.done, std::vector<std::uint64_t>{1});
  EXPECT_EQ(scan.corrupt_records, 0u);
  EXPECT_TRUE(scan.problems.empty());
}

TEST(OutboxLog, Crc32cMatchesTheStandardCheckValueAndTheIscsiVectors) {
  // RFC 3720, appendix B.4; lengths that use the 8-byte steps, the byte tail and both.
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(crc32c(""), 0u);
}

TEST(OutboxLog, RecordsWrittenWithZlibCrc32BeforeTheFlagStillRead) {
  std::string bytes;
  append_entry_record(record(1), bytes);
  append_entry_record(record(2), bytes);
  EXPECT_EQ(bytes[5], '\x01') << "new records say CRC-32C";
  // Rewrite record 1 as the earlier format had it: flags 0, zlib's CRC-32 of type and payload.
  const std::size_t length = bytes.size() / 2 - kOutboxHeaderBytes;
  bytes[5] = '\0';
  uLong crc = ::crc32(0L, reinterpret_cast<const Bytef*>(bytes.data() + 4), 1);
  crc = ::crc32_z(crc, reinterpret_cast<const Bytef*>(bytes.data() + kOutboxHeaderBytes), length);
  for (int i = 0; i < 4; ++i) bytes[12 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
  SegmentScan scan = parse_segment(bytes);
  ASSERT_EQ(scan.entries.size(), 2u);
  EXPECT_EQ(scan.entries[0].message_id, "id-1");
  EXPECT_EQ(scan.corrupt_records, 0u);
  // The flag decides which CRC is checked: the same record flagged CRC-32C is corrupt.
  bytes[5] = '\x01';
  scan = parse_segment(bytes);
  ASSERT_EQ(scan.entries.size(), 1u);
  EXPECT_EQ(scan.entries[0].message_id, "id-2");
  EXPECT_EQ(scan.corrupt_records, 1u);
}

TEST(OutboxLog, TruncatedTailIsReportedAndEarlierEntriesKept) {
  std::string bytes;
  append_entry_record(record(1), bytes);
  append_entry_record(record(2), bytes);
  const std::size_t second_end = bytes.size();
  append_entry_record(record(3), bytes);
  for (std::size_t cut : {second_end + 3, second_end + 20, bytes.size() - 1}) {
    SegmentScan scan = parse_segment(std::string_view(bytes).substr(0, cut));
    ASSERT_EQ(scan.entries.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(scan.corrupt_records, 1u);
    ASSERT_EQ(scan.problems.size(), 1u);
    EXPECT_NE(scan.problems[0].find("offset " + std::to_string(second_end)), std::string::npos) << scan.problems[0];
  }
}

TEST(OutboxLog, CorruptedRecordIsSkippedAndLaterRecordsFound) {
  std::string bytes;
  append_entry_record(record(1), bytes);
  const std::size_t second = bytes.size();
  append_entry_record(record(2), bytes);
  append_entry_record(record(3), bytes);
  append_done_record({3}, bytes);
  append_entry_record(record(4), bytes);
  bytes[second + kOutboxHeaderBytes + 30] ^= 0x5a;  // inside record 2's payload: CRC mismatch
  SegmentScan scan = parse_segment(bytes);
  ASSERT_EQ(scan.entries.size(), 3u);
  EXPECT_EQ(scan.entries[0].id, 1u);
  EXPECT_EQ(scan.entries[1].id, 3u);
  EXPECT_EQ(scan.entries[2].id, 4u);
  EXPECT_EQ(scan.done, std::vector<std::uint64_t>{3});
  EXPECT_EQ(scan.corrupt_records, 1u);
  ASSERT_EQ(scan.problems.size(), 1u);
  EXPECT_NE(scan.problems[0].find("CRC mismatch"), std::string::npos) << scan.problems[0];
}

TEST(OutboxLog, GarbageNeverCrashesAndYieldsNothing) {
  std::string garbage;
  for (int i = 0; i < 10000; ++i) garbage.push_back(static_cast<char>((i * 7919) & 0xff));
  SegmentScan scan = parse_segment(garbage);
  EXPECT_TRUE(scan.entries.empty());
  EXPECT_EQ(scan.corrupt_records, 1u);
  // A header claiming a huge length is "truncated", not an allocation.
  std::string bytes;
  append_entry_record(record(1), bytes);
  bytes[8] = bytes[9] = bytes[10] = bytes[11] = '\xff';
  scan = parse_segment(bytes);
  EXPECT_TRUE(scan.entries.empty());
  EXPECT_EQ(scan.corrupt_records, 1u);
}

TEST(OutboxLog, UnsealedRecordsSealedLaterReadAsSealedOnesAndViewInPlace) {
  // The outbox appends records without their CRC and its committer seals them before writing.
  std::string sealed;
  append_entry_record(record(1), sealed);
  append_done_record({9, 10}, sealed);
  append_entry_record(record(2, std::string(3000, 'y')), sealed);
  std::string later;
  const OutboxRecord one = record(1);
  const OutboxRecord two = record(2, std::string(3000, 'y'));
  const std::size_t first = append_entry_record(
      OutboxRecordView{one.id, one.created_ms, one.priority, one.retry, one.exchange, one.routing_key, one.message_id,
                       one.event_type, one.body},
      later, false);
  append_done_record({9, 10}, later);
  const std::size_t third_at = later.size();
  append_entry_record(OutboxRecordView{two.id, two.created_ms, two.priority, two.retry, two.exchange, two.routing_key,
                                       two.message_id, two.event_type, two.body},
                      later, false);
  EXPECT_EQ(parse_segment(later).corrupt_records, 2u) << "unsealed entry records must not pass the CRC check";
  seal_records(later);
  EXPECT_EQ(later, sealed);
  OutboxRecordView view;
  ASSERT_TRUE(view_entry_record(std::string_view(later).substr(0, first), view));
  EXPECT_EQ(view.id, 1u);
  EXPECT_EQ(view.message_id, "id-1");
  EXPECT_EQ(view.routing_key, "notifications.audit");
  EXPECT_EQ(view.event_type, "audit.event");
  EXPECT_EQ(view.retry, -1);
  ASSERT_TRUE(view_entry_record(std::string_view(later).substr(third_at), view));
  EXPECT_EQ(view.body, std::string(3000, 'y'));
  EXPECT_FALSE(view_entry_record(std::string_view(later).substr(first, third_at - first), view)) << "a done record";
  EXPECT_FALSE(view_entry_record(std::string_view(later).substr(0, first - 1), view)) << "cut short";
}

}  // namespace
}  // namespace herald::detail
