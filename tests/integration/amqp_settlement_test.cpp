// Outcomes on the consumer side: requeue (release) and reject (dead-letter).
#include "tests/integration/amqp_support.hpp"

#include <herald/transport.hpp>

#include <gtest/gtest.h>

namespace herald::test {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<detail::IncomingMessage> poll_one(detail::Listener& listener, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto batch = listener.poll(100ms, 1);
    if (!batch.empty()) return std::move(batch.front());
  }
  return nullptr;
}

TEST(AmqpSettlement, RequeuedMessageIsRedeliveredAndMarkedRedelivered) {
  auto transport = Transport::open(broker_url());
  const std::string exchange = unique_name("x");
  const std::string key = unique_name("t") + ".info";
  auto listener = transport->driver().listen({{{key, exchange, key}}, 10});
  SendTracker sent;
  transport->driver().send(message(exchange, key, "again"), sent.callback());
  ASSERT_TRUE(sent.wait(1, 10s));

  auto first = poll_one(*listener, 5s);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->body(), "again");
  EXPECT_FALSE(first->redelivered());
  EXPECT_EQ(first->queue(), key);
  first->requeue();

  auto second = poll_one(*listener, 5s);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body(), "again");
  EXPECT_TRUE(second->redelivered());
  second->ack();
  EXPECT_FALSE(poll_one(*listener, 500ms));
}

TEST(AmqpSettlement, UnsettledMessageIsRequeuedWhenDestroyed) {
  auto transport = Transport::open(broker_url());
  const std::string exchange = unique_name("x");
  const std::string key = unique_name("t") + ".info";
  auto listener = transport->driver().listen({{{key, exchange, key}}, 10});
  SendTracker sent;
  transport->driver().send(message(exchange, key, "dropped"), sent.callback());
  ASSERT_TRUE(sent.wait(1, 10s));
  ASSERT_TRUE(poll_one(*listener, 5s));  // destroyed unsettled: requeued
  auto again = poll_one(*listener, 5s);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->redelivered());
  again->ack();
}

TEST(AmqpSettlement, RejectedMessageGoesToTheDeadLetterQueue) {
  const std::string dlx = unique_name("dlx");
  const std::string dlq = unique_name("dlq");
  auto transport = Transport::open(broker_url("?dead_letter_exchange=" + dlx + "&dead_letter_queue=" + dlq));
  const std::string exchange = unique_name("x");
  const std::string key = unique_name("t") + ".error";
  auto listener = transport->driver().listen({{{key, exchange, key}}, 10});
  SendTracker sent;
  transport->driver().send(message(exchange, key, "poison"), sent.callback());
  ASSERT_TRUE(sent.wait(1, 10s));
  auto incoming = poll_one(*listener, 5s);
  ASSERT_TRUE(incoming);
  incoming->reject();
  EXPECT_FALSE(poll_one(*listener, 300ms));

  auto dead = transport->driver().listen({{{dlq, dlx, ""}}, 10});
  auto bodies = receive_and_ack(*dead, 1, 5s);
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(bodies[0], "poison");
}

TEST(AmqpSettlement, StopReleasesUnpolledDeliveriesToAnotherConsumer) {
  auto transport = Transport::open(broker_url());
  const std::string exchange = unique_name("x");
  const std::string key = unique_name("t") + ".info";
  auto first = transport->driver().listen({{{key, exchange, key}}, 100});
  SendTracker sent;
  for (int i = 0; i < 20; ++i) transport->driver().send(message(exchange, key, std::to_string(i)), sent.callback());
  ASSERT_TRUE(sent.wait(20, 10s));
  auto one = poll_one(*first, 5s);  // the rest sits prefetched in the listener
  ASSERT_TRUE(one);
  one->ack();
  std::this_thread::sleep_for(200ms);
  auto started = std::chrono::steady_clock::now();
  first->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  auto second = transport->driver().listen({{{key, exchange, key}}, 100});
  EXPECT_EQ(receive_and_ack(*second, 19, 10s).size(), 19u);
}

// RabbitMQ 4.0 sends the frames of a new session to the previous session of the same channel
// number while that session is still exiting, after its end reply (rabbitmq-server #14317,
// fixed in 4.1), and Proton gives the next session the lowest free channel: the one just ended.
// A consumer stopped while holding deliveries ends its session (so the broker requeues what it
// sent), and a successor attached at once then never attached (one run of
// StopReleasesUnpolledDeliveriesToAnotherConsumer in ~20 on RabbitMQ 4.0). Here the stopped
// consumer holds many deliveries, which keeps the broker's session exiting longer; every listen
// must attach.
TEST(AmqpSettlement, ConsumersStoppedAndStartedInARowAllAttach) {
  constexpr int kRounds = 10;
  constexpr int kHeld = 1000;
  const std::string exchange = unique_name("x");
  int attached = 0;
  for (int round = 0; round < kRounds; ++round) {
    const std::string key = unique_name("t") + ".info";  // a new queue each round
    auto transport = Transport::open(broker_url("?connect_timeout=3"));
    auto first = transport->driver().listen({{{key, exchange, key}}, kHeld});
    SendTracker sent;
    for (int i = 0; i < kHeld; ++i)
      transport->driver().send(message(exchange, key, std::to_string(i)), sent.callback());
    ASSERT_TRUE(sent.wait(kHeld, 10s));
    auto one = poll_one(*first, 5s);  // the rest sits prefetched, released by stop()
    ASSERT_TRUE(one) << "round " << round;
    one->ack();
    std::this_thread::sleep_for(200ms);  // the acknowledgement is through, the rest has arrived
    first->stop();
    try {
      auto second = transport->driver().listen({{{key, exchange, key}}, kHeld});
      ++attached;
      ASSERT_EQ(receive_and_ack(*second, kHeld - 1, 10s).size(), std::size_t{kHeld - 1}) << "round " << round;
    } catch (const TransportError& e) {
      ADD_FAILURE() << "round " << round << ": " << e.what();
    }
  }
  EXPECT_EQ(attached, kRounds);
}

}  // namespace
}  // namespace herald::test
