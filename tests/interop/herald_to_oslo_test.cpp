// Herald Notifier (amqp://) -> RabbitMQ -> oslo.messaging 14 notification listener (rabbit driver).
#include "tests/interop/oslo_checks.hpp"
#include "tests/interop/oslo_support.hpp"

#include <gtest/gtest.h>

namespace herald::interop {
namespace {

TEST(HeraldToOslo, MessagingV2AllPriorities) { run_herald_to_oslo("messagingv2", "", 14); }

TEST(HeraldToOslo, MessagingV1AllPriorities) { run_herald_to_oslo("messaging", "", 14); }

TEST(HeraldToOslo, PooledOsloListener) { run_herald_to_oslo("messagingv2", unique_name("pool"), 14); }

TEST(HeraldToOslo, BatchOsloListener) {
  int largest = run_herald_to_oslo("messagingv2", "", 70, 10);
  EXPECT_GT(largest, 1) << "every batch held a single notification";
}

TEST(HeraldToOslo, PooledBatchOsloListener) { run_herald_to_oslo("messagingv2", unique_name("pool"), 35, 5); }

}  // namespace
}  // namespace herald::interop
