// The error model: Errc, its category, the exception hierarchy.

#include <herald/error.hpp>

#include <gtest/gtest.h>

#include <string>

namespace herald {
namespace {

TEST(Error, CategoryNameAndMessages) {
  EXPECT_STREQ(error_category().name(), "herald");
  for (int value = 0; value <= static_cast<int>(Errc::tls_failed); ++value) {
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
  EXPECT_EQ(ArgumentError("x").code(), Errc::invalid_argument);
}

// One exception class per group: what throw_error(code) throws is the class of group_of(code),
// and its code() is that code.
TEST(Error, EveryCodeIsThrownAsTheClassOfItsGroup) {
  for (int value = 1; value <= static_cast<int>(Errc::tls_failed); ++value) {
    const auto code = static_cast<Errc>(value);
    try {
      throw_error(code, "text");
    } catch (const ArgumentError& e) {
      EXPECT_EQ(group_of(code), ErrorGroup::argument) << value;
      EXPECT_EQ(e.errc(), code);
    } catch (const ConfigError& e) {
      EXPECT_EQ(group_of(code), ErrorGroup::config) << value;
      EXPECT_EQ(e.errc(), code);
    } catch (const DecodeError& e) {
      EXPECT_EQ(group_of(code), ErrorGroup::decode) << value;
      EXPECT_EQ(e.errc(), code);
    } catch (const TransportError& e) {
      EXPECT_EQ(group_of(code), ErrorGroup::transport) << value;
      EXPECT_EQ(e.errc(), code);
      EXPECT_EQ(e.group(), ErrorGroup::transport);
    }
  }
  EXPECT_EQ(group_of(Errc::invalid_argument), ErrorGroup::argument);
  EXPECT_EQ(group_of(Errc::invalid_url), ErrorGroup::config);
  EXPECT_EQ(group_of(Errc::unknown_priority), ErrorGroup::decode);
  EXPECT_EQ(group_of(Errc::precondition_failed), ErrorGroup::transport);
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
