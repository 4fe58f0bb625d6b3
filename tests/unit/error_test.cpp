// The error model: Errc, its category, the exception hierarchy.

#include <herald/error.hpp>

#include <gtest/gtest.h>

#include <string>

namespace herald {
namespace {

TEST(Error, CategoryNameAndMessages) {
  EXPECT_STREQ(error_category().name(), "herald");
  for (int value = 0; value <= static_cast<int>(Errc::closed); ++value) {
    const std::string message = error_category().message(value);
    EXPECT_FALSE(message.empty());
    EXPECT_NE(message, "unknown herald error") << value;
  }
  EXPECT_EQ(error_category().message(999), "unknown herald error");
}

TEST(Error, ErrcConvertsToErrorCode) {
  const std::error_code code = Errc::timeout;  // via is_error_code_enum and ADL make_error_code
  EXPECT_EQ(code.category(), error_category());
  EXPECT_EQ(code.value(), static_cast<int>(Errc::timeout));
  EXPECT_EQ(code, Errc::timeout);
  EXPECT_NE(code, Errc::closed);
  EXPECT_EQ(code.message(), "timed out");
}

TEST(Error, SubclassesCarryTheirCodes) {
  EXPECT_EQ(ConfigError("x").code(), Errc::invalid_config);
  EXPECT_EQ(DecodeError("x").code(), Errc::decode_error);
  EXPECT_EQ(TransportError("x").code(), Errc::transport_error);
  EXPECT_EQ(ConfigError(Errc::invalid_url, "x").code(), Errc::invalid_url);
}

TEST(Error, WhatStartsWithTheGivenText) {
  const DecodeError error("body is bad");
  EXPECT_EQ(std::string(error.what()).rfind("body is bad", 0), 0u) << error.what();
}

TEST(Error, CatchableAsBaseAndSystemError) {
  EXPECT_THROW(throw DecodeError("x"), Error);
  EXPECT_THROW(throw ConfigError("x"), std::system_error);
  EXPECT_THROW(throw TransportError("x"), std::runtime_error);
}

}  // namespace
}  // namespace herald
