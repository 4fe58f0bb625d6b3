// URL options of the amqp driver: validation happens in Transport::open, before any I/O.
#include "tests/integration/amqp_support.hpp"

#include <herald/error.hpp>
#include <herald/transport.hpp>

#include <gtest/gtest.h>

namespace herald::test {
namespace {

TEST(AmqpConfig, UnknownOptionIsRejectedByName) {
  try {
    Transport::open(broker_url("?no_such_knob=1"));
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_knob"), std::string::npos) << e.what();
  }
}

TEST(AmqpConfig, BadValueIsRejectedByName) {
  try {
    Transport::open(broker_url("?delivery=sometimes"));
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("delivery"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Transport::open(broker_url("?in_flight_window=0")), ConfigError);
  EXPECT_THROW(Transport::open(broker_url("?idle_timeout=-1")), ConfigError);
  EXPECT_THROW(Transport::open(broker_url("?dead_letter_queue=x")), ConfigError);
}

TEST(AmqpConfig, KnownOptionsAreAccepted) {
  EXPECT_NO_THROW(Transport::open(
      broker_url("?idle_timeout=30&reconnect_delay=0.2&reconnect_max_delay=5&connect_timeout=3&detach_timeout=1"
                 "&delivery=at_most_once&in_flight_window=50&durable_messages=false&credit_window=10&topology=none"
                 "&management_port=15999&amqp_durable_queues=true&sasl_mechanisms=PLAIN")));
}

}  // namespace
}  // namespace herald::test
