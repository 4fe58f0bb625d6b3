// oslo.config's INI dialect: sections, comments, continuation lines, quotes, errors with lines.
#include "config/ini_file.hpp"

#include <herald/error.hpp>

#include <gtest/gtest.h>

namespace herald::detail {
namespace {

std::string parse_error(const std::string& text) {
  try {
    parse_ini(text, "test.conf");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigIni, AssignmentsWithEqualsOrColon) {
  auto a = parse_ini("[DEFAULT]\nfoo = bar\nbaz: qux\nurl = rabbit://h:5672/\n", "f");
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].group, "DEFAULT");
  EXPECT_EQ(a[0].option, "foo");
  EXPECT_EQ(a[0].value, "bar");
  EXPECT_EQ(a[0].line, 2);
  EXPECT_EQ(a[1].value, "qux");
  EXPECT_EQ(a[2].value, "rabbit://h:5672/");  // '=' comes before the URL's ':'
}

TEST(ConfigIni, CommentsAndBlankLines) {
  auto a = parse_ini("# comment\n; another\n\n[g]\n#x = 1\nx = 2 # not a comment\n", "f");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].value, "2 # not a comment");  // oslo keeps text after '#' in a value
  EXPECT_EQ(a[0].line, 6);
}

TEST(ConfigIni, ContinuationLinesJoinWithNewlines) {
  auto a = parse_ini("[g]\ntopics = a,\n  b,\n\tc\n\nother = 1\n", "f");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].value, "a,\nb,\nc");
  EXPECT_EQ(a[0].line, 2);
  EXPECT_EQ(a[1].option, "other");
}

TEST(ConfigIni, GroupNamesAreCaseInsensitiveExceptDefault) {
  auto a = parse_ini("[OSLO_Messaging_Rabbit]\nssl = true\n[DEFAULT]\nx = 1\n[default]\ny = 2\n", "f");
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].group, "oslo_messaging_rabbit");
  EXPECT_EQ(a[1].group, "DEFAULT");
  EXPECT_EQ(a[2].group, "default");  // as oslo.config: only DEFAULT is special
}

TEST(ConfigIni, OnePairOfQuotesIsRemoved) {
  auto a = parse_ini("[g]\na = \"x y\"\nb = 'z'\nc = \"mixed'\nd = \"\"\n", "f");
  EXPECT_EQ(a[0].value, "x y");
  EXPECT_EQ(a[1].value, "z");
  EXPECT_EQ(a[2].value, "\"mixed'");
  EXPECT_EQ(a[3].value, "");
}

TEST(ConfigIni, CrLfAndByteOrderMark) {
  auto a = parse_ini("\xEF\xBB\xBF[g]\r\nx = 1\r\n", "f");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].value, "1");
}

TEST(ConfigIni, SyntaxErrorsNameFileAndLine) {
  EXPECT_NE(parse_error("[g]\nx = 1\n[broken\n").find("test.conf:3:"), std::string::npos);
  EXPECT_NE(parse_error("[g]\n\n  indented\n").find("test.conf:3: unexpected continuation"), std::string::npos);
  EXPECT_NE(parse_error("x = 1\n").find("test.conf:1: option 'x' before any [section]"), std::string::npos);
  EXPECT_NE(parse_error("[g]\njust words\n").find("test.conf:2: no '='"), std::string::npos);
  EXPECT_NE(parse_error("[g]\n= v\n").find("test.conf:2: empty option name"), std::string::npos);
  EXPECT_NE(parse_error("[]\n").find("test.conf:1: empty section name"), std::string::npos);
}

}  // namespace
}  // namespace herald::detail
