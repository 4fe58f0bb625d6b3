// Priority names and parsing.

#include <herald/priority.hpp>

#include <gtest/gtest.h>

#include <string>

namespace herald {
namespace {

TEST(Priority, NamesInOsloOrder) {
  const char* lower[] = {"audit", "debug", "info", "warn", "error", "critical", "sample"};
  const char* upper[] = {"AUDIT", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "SAMPLE"};
  for (std::size_t i = 0; i < kPriorityCount; ++i) {
    EXPECT_EQ(index_of(kAllPriorities[i]), i);
    EXPECT_EQ(to_string(kAllPriorities[i]), lower[i]);
    EXPECT_EQ(to_upper_string(kAllPriorities[i]), upper[i]);
  }
}

TEST(Priority, ParseRoundTripsBothCases) {
  for (Priority p : kAllPriorities) {
    EXPECT_EQ(parse_priority(to_string(p)), p);
    EXPECT_EQ(parse_priority(to_upper_string(p)), p);
  }
}

TEST(Priority, CaseInsensitive) {
  EXPECT_EQ(parse_priority("Info"), Priority::info);
  EXPECT_EQ(parse_priority("cRiTiCaL"), Priority::critical);
}

TEST(Priority, WarningIsAnAliasOfWarn) {
  EXPECT_EQ(parse_priority("warning"), Priority::warn);
  EXPECT_EQ(parse_priority("WARNING"), Priority::warn);
  EXPECT_EQ(to_string(Priority::warn), "warn");  // never produced as "warning"
}

TEST(Priority, RejectsEverythingElse) {
  for (const char* text : {"", " info", "info ", "inf", "infos", "warnings", "fatal", "notice", "INFO\n"})
    EXPECT_FALSE(parse_priority(text).has_value()) << '"' << text << '"';
  EXPECT_FALSE(parse_priority(std::string_view("info\0", 5)).has_value());
}

}  // namespace
}  // namespace herald
