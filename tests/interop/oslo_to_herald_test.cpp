// oslo.messaging 14 Notifier (rabbit driver) -> RabbitMQ -> Herald NotificationServer (amqp://).
#include "tests/interop/oslo_checks.hpp"
#include "tests/interop/oslo_support.hpp"

#include <gtest/gtest.h>

namespace herald::interop {
namespace {

TEST(OsloToHerald, MessagingV2AllPriorities) { run_oslo_to_herald("messagingv2", "", 14); }

TEST(OsloToHerald, MessagingV1AllPriorities) { run_oslo_to_herald("messaging", "", 14); }

TEST(OsloToHerald, PooledHeraldServer) { run_oslo_to_herald("messagingv2", unique_name("pool"), 14); }

}  // namespace
}  // namespace herald::interop
