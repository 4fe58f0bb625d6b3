// oslo.messaging 14 Notifier (rabbit driver) -> RabbitMQ -> Herald NotificationServer (amqp://).
#include "tests/interop/oslo_checks.hpp"
#include "tests/interop/oslo_support.hpp"

#include <gtest/gtest.h>

namespace herald::interop {
namespace {

TEST(OsloToHerald, MessagingV2AllPriorities) { run_oslo_to_herald("messagingv2", "", 14); }

TEST(OsloToHerald, MessagingV1AllPriorities) { run_oslo_to_herald("messaging", "", 14); }

TEST(OsloToHerald, PooledHeraldServer) { run_oslo_to_herald("messagingv2", unique_name("pool"), 14); }

// An oslo.context RequestContext: 14.0.3 rebuilds it from the safe keys, so every field the
// class knows is flattened (auth_token as null); Herald must rebuild exactly that dict.
TEST(OsloToHerald, RequestContextObject) { run_oslo_to_herald("messagingv2", "", 7, {"--request-context"}); }

// As oslo-messaging-send-notification sends: lower-case priority, JSON-string payload, null
// publisher_id (Herald: ""), empty context.
TEST(OsloToHerald, CliStyleNotification) { run_oslo_to_herald("messagingv2", "", 7, {"--cli-style"}); }

}  // namespace
}  // namespace herald::interop
