// format_timestamp(): oslo's str(utcnow()) form, always with microseconds.

#include <herald/codec.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <regex>

namespace herald {
namespace {

using namespace std::chrono;

TEST(CodecTimestamp, KnownInstants) {
  EXPECT_EQ(format_timestamp(system_clock::time_point{}), "1970-01-01 00:00:00.000000");
  // 2026-11-22 02:04:13.339067 UTC, the instant of vectors/oslo14-info-v2.json.
  const auto instant = sys_days{2026y / November / 22} + 2h + 4min + 13s + 339067us;
  EXPECT_EQ(format_timestamp(time_point_cast<system_clock::duration>(instant)), "2026-11-22 02:04:13.339067");
  EXPECT_EQ(format_timestamp(sys_days{2024y / February / 29} + 23h + 59min + 59s + 999999us),
            "2024-02-29 23:59:59.999999");
}

TEST(CodecTimestamp, SubMicrosecondsAreTruncated) {
  const auto instant = sys_days{2000y / January / 1} + 1s + 1999ns;
  EXPECT_EQ(format_timestamp(time_point_cast<system_clock::duration>(instant)), "2000-01-01 00:00:01.000001");
}

TEST(CodecTimestamp, BeforeEpoch) {
  EXPECT_EQ(format_timestamp(system_clock::time_point{} - 1us), "1969-12-31 23:59:59.999999");
}

TEST(CodecTimestamp, NowHasTheShape) {
  static const std::regex shape(R"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6})");
  EXPECT_TRUE(std::regex_match(format_timestamp(system_clock::now()), shape));
}

}  // namespace
}  // namespace herald
