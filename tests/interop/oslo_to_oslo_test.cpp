// oslo.messaging Notifier -> RabbitMQ -> oslo.messaging listener, both run by python_command(): proves
// the peer and its oslo version against a broker without Herald, so it also runs against RabbitMQ 4
// (RMQ_VERSION=4 HERALD_OSLO_PYTHON="scripts/rabbitmq python").
#include "tests/interop/oslo_checks.hpp"
#include "tests/interop/oslo_support.hpp"

#include <gtest/gtest.h>

namespace herald::interop {
namespace {

// oslo's default: classic, non-durable, non-exclusive queues. RabbitMQ 4 refuses them when
// deprecated_features.permit.transient_nonexcl_queues = false (scripts/rabbitmq's default), and
// oslo then retries the declaration until the test times out (90 s). A run whose
// HERALD_TEST_URL_OPTIONS asks for durable or quorum queues says the broker is such a one.
TEST(OsloToOslo, TransientQueues) {
  if (!oslo_queue_flags().empty())
    GTEST_SKIP() << "HERALD_TEST_URL_OPTIONS asks for durable or quorum queues: transient ones are taken as denied";
  run_oslo_to_oslo(14, {});
}

// amqp_durable_queues = true: durable exchange and durable classic queues.
TEST(OsloToOslo, DurableQueues) { run_oslo_to_oslo(14, {"--durable"}); }

// rabbit_quorum_queue = true: quorum queues (durable exchange).
TEST(OsloToOslo, QuorumQueues) { run_oslo_to_oslo(14, {"--quorum"}); }

}  // namespace
}  // namespace herald::interop
